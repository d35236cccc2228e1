//! Aggregation pipelines: parsing stages and running them over a stream of documents.
