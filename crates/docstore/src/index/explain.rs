//! `explain` output of a [`Plan`], shaped like MongoDB's `queryPlanner.winningPlan`:
//! `{stage: "FETCH", inputStage: {stage: "IXSCAN", keyPattern, indexName, isMultiKey,
//! isUnique, isSparse, isPartial, direction, indexBounds}}`, `{stage: "COLLSCAN", direction}`
//! or `{stage: "IDHACK"}`, wrapped in `{stage: "SORT", sortPattern, inputStage}` when the
//! requested sort is not provided by the access path.

use bson::{Bson, Document, doc};

use super::keycodec::Direction;
use super::planner::{Access, Plan};

/// The `winningPlan` document of `plan`.
pub fn explain(plan: &Plan) -> Document {
    let access = match &plan.access {
        Access::CollScan => doc! {"stage": "COLLSCAN", "direction": "forward"},
        Access::IdPoint { bounds, .. } if bounds.len() == 1 => doc! {"stage": "IDHACK"},
        Access::IdPoint { bounds, .. } => doc! {
            "stage": "FETCH",
            "inputStage": {
                "stage": "IXSCAN",
                "keyPattern": {"_id": 1},
                "indexName": super::spec::ID_INDEX_NAME,
                "isMultiKey": false,
                "isUnique": true,
                "isSparse": false,
                "isPartial": false,
                "direction": "forward",
                "indexBounds": {
                    "_id": bounds
                        .iter()
                        .map(|i| Bson::String(i.text(Direction::Ascending)))
                        .collect::<Vec<_>>()
                },
            },
        },
        Access::IndexScan(s) => doc! {
            "stage": "FETCH",
            "inputStage": {
                "stage": "IXSCAN",
                "keyPattern": s.key_pattern.clone(),
                "indexName": s.index_name.clone(),
                "isMultiKey": s.multikey,
                "isUnique": s.unique,
                "isSparse": s.sparse,
                "isPartial": s.partial,
                "direction": if s.reverse { "backward" } else { "forward" },
                "indexBounds": s.bounds_document(),
            },
        },
    };
    match &plan.sort {
        Some(sort) if !plan.sort_provided => doc! {
            "stage": "SORT",
            "sortPattern": sort.clone(),
            "inputStage": access,
        },
        _ => access,
    }
}
