//! Elasticsearch/OpenSearch I/O.
