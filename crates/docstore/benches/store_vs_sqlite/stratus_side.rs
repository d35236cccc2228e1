//! The Stratus side of the benchmark.
//!
//! INTERIM: the `Store` API (redb, group commit) is not on this branch yet, so this measures
//! what exists: the index module (planner + execution + index maintenance) over the in-memory
//! [`MemoryKv`] with `Filter::matches_raw` re-checking candidates. It is NOT durable and does
//! not touch disk, so (a) durable inserts and (e) `$group` are not measured here.

use std::path::Path;
use std::time::Instant;

use bson::{Bson, RawDocument, doc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratus_docstore::index::{IndexDef, IndexSpec, encode_id, execute, insert_entries, plan};
use stratus_docstore::kv::{KvWrite, MemoryKv};
use stratus_query::filter::Filter;

use crate::{DOCS_PER_CAT, EQ_QUERIES, Measure, POINT_READS, Results, SCAN_LIMIT, SEED, make_doc};

const DOCS: &str = "bench.docs";
const CAT_INDEX: &str = "bench.ix.cat_1";

pub(crate) fn run(
    _dir: &Path,
    docs: usize,
    _writes: usize,
) -> Result<Results, Box<dyn std::error::Error>> {
    let mut out = Results::default();
    let mut kv = MemoryKv::new();
    let mut cat = IndexDef::compile(&IndexSpec::new(doc! {"cat": 1})?)?;
    let mut rng = StdRng::seed_from_u64(SEED);
    eprintln!("stratus (interim, in-memory): dataset");
    let start = Instant::now();
    for i in 0..docs {
        let d = make_doc(i, &mut rng);
        let pk = encode_id(&Bson::Int64(i as i64));
        kv.put(DOCS, &pk, &d.to_vec()?)?;
        insert_entries(&mut kv, CAT_INDEX, "bench.docs", &cat, &d, &pk)?;
    }
    out.load = Some(Measure::new(docs, start.elapsed()));
    cat.multikey = stratus_docstore::index::is_multikey(&kv, CAT_INDEX)?;
    let indexes = vec![(CAT_INDEX.to_string(), cat)];

    let mut q = StdRng::seed_from_u64(SEED ^ 1);
    let ids: Vec<i64> = (0..POINT_READS)
        .map(|_| q.random_range(0..docs as i64))
        .collect();
    let start = Instant::now();
    for id in &ids {
        let filter = doc! {"_id": *id};
        let p = plan(&filter, None, &indexes);
        let found = execute(&p, &kv, DOCS)?.next().transpose()?;
        assert!(found.is_some_and(|(_, raw)| !raw.is_empty()));
    }
    out.point_reads = Some(Measure::new(POINT_READS, start.elapsed()));

    let cats: Vec<String> = (0..EQ_QUERIES)
        .map(|_| format!("c{}", q.random_range(0..docs / DOCS_PER_CAT)))
        .collect();
    let start = Instant::now();
    let mut returned = 0;
    for c in &cats {
        let filter = doc! {"cat": c.as_str()};
        let f = Filter::parse(&filter)?;
        let p = plan(&filter, None, &indexes);
        let mut n = 0;
        for item in execute(&p, &kv, DOCS)? {
            let (_, raw) = item?;
            if f.matches_raw(RawDocument::from_bytes(&raw)?) {
                n += 1;
            }
        }
        assert_eq!(n, DOCS_PER_CAT);
        returned += n;
    }
    out.eq_query = Some(Measure::new(returned, start.elapsed()));

    let start = Instant::now();
    let filter = doc! {"n": {"$lt": SCAN_LIMIT}};
    let f = Filter::parse(&filter)?;
    let p = plan(&filter, None, &indexes);
    let mut matched = Vec::new();
    for item in execute(&p, &kv, DOCS)? {
        let (_, raw) = item?;
        if f.matches_raw(RawDocument::from_bytes(&raw)?) {
            matched.push(raw);
        }
    }
    out.scan = Some(Measure::new(docs, start.elapsed()));
    eprintln!("stratus scan matched {}", matched.len());
    Ok(out)
}
