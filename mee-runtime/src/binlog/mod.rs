//! Reading the MySQL/MariaDB binlog.
