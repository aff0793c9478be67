//! mee keeps Elasticsearch/OpenSearch in sync with MySQL/MariaDB.
