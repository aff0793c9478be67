//! `mee schema pull` writes DDL the compiler reads back into the live columns, and the start-up
//! schema check accepts added columns but reports dropped, retyped and missing ones.

use mee_compiler::diag::Diagnostics;
use mee_compiler::source::SourceMap;
use mee_compiler::sql::parse_ddl;
use mee_runtime::mysql::{
    ExpectedColumn, ExpectedTable, ProblemKind, Source, SourceConfig, check_schema, pull_schema,
};
use mee_testkit::{TestMysql, TestResult};

const TABLES: &str = "
CREATE TABLE orders (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id INT(11) NOT NULL, status TINYINT(4) NOT NULL DEFAULT 0,
    total DECIMAL(12,2), weight FLOAT, ratio DOUBLE, z INT(5) UNSIGNED ZEROFILL,
    code CHAR(8), note VARCHAR(300) CHARACTER SET latin1, body TEXT, raw BINARY(4),
    vb VARBINARY(10), bl BLOB, size ENUM('small','medium','it''s'), tags SET('a','b'),
    day DATE, created DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    ts TIMESTAMP NULL, dur TIME(1), y YEAR, flags BIT(12), j JSON, ok BOOLEAN,
    KEY idx_customer (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='the orders';
CREATE TABLE addresses (id INT PRIMARY KEY, line VARCHAR(100) NOT NULL);
CREATE TABLE zz_other (id INT PRIMARY KEY);
INSERT INTO orders (customer_id, created) VALUES (1, NOW()), (2, NOW());
CREATE VIEW v_orders AS SELECT id FROM orders";

/// The columns of one table of the pulled file as the compiler reads them, leaked so that they
/// can play the part of the `static` expectations generated code emits.
fn expected_from_ddl(text: &str, table: &str) -> &'static [ExpectedColumn] {
    let mut map = SourceMap::new();
    let file = map.add("shop.sql", text.to_string());
    let mut diags = Diagnostics::new();
    let db = parse_ddl(file, "shop", text, &mut diags);
    let problems = diags.finish();
    assert!(
        problems.is_empty(),
        "the pulled DDL does not parse: {problems:?}"
    );
    let t = db.table(table).expect("the table is in the pulled DDL");
    let cols: Vec<ExpectedColumn> = t
        .columns
        .iter()
        .map(|c| {
            ExpectedColumn::new(
                Box::leak(c.name.clone().into_boxed_str()),
                Box::leak(c.type_text.clone().into_boxed_str()),
                c.nullable,
            )
        })
        .collect();
    Box::leak(cols.into_boxed_slice())
}

#[tokio::test]
async fn pulled_schema_parses_into_the_live_columns_and_the_check_follows_changes() -> TestResult {
    let mut mysql = TestMysql::with_databases(&["shop"]).await?;
    let shop = mysql.db("shop").to_string();
    mysql.exec(TABLES).await?;
    let mut config = SourceConfig::new(mysql.mee_url());
    config.databases = mysql.database_map().clone();
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;

    let text = pull_schema(&source, "shop", &[])
        .await
        .map_err(|e| e.to_string())?;
    // Header: what, from where (no password), when.
    let header: Vec<&str> = text.lines().take(3).collect();
    assert!(
        header[0].starts_with("-- Schema of the `shop` database"),
        "{text}"
    );
    assert!(header[1].contains("from mee@127.0.0.1:13306") && header[1].contains(&shop));
    assert!(!text.contains("mee:mee"), "{text}");
    // Base tables only, sorted, each dropped then created; no AUTO_INCREMENT=n.
    let creates: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("CREATE TABLE"))
        .collect();
    assert_eq!(
        creates,
        vec![
            "CREATE TABLE `addresses` (",
            "CREATE TABLE `orders` (",
            "CREATE TABLE `zz_other` ("
        ]
    );
    assert!(text.contains("DROP TABLE IF EXISTS `orders`;\nCREATE TABLE `orders` ("));
    assert!(!text.contains("AUTO_INCREMENT="), "{text}");
    assert!(text.contains("AUTO_INCREMENT,"));
    // The physical name appears in the header only: the DDL is the logical database's.
    assert!(!text.lines().skip(3).any(|l| l.contains(&shop)), "{text}");

    // The compiler reads the file back into exactly the live columns.
    let columns = expected_from_ddl(&text, "orders");
    let live: Vec<(String, String)> = mysql
        .query(&format!(
            "SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = '{shop}' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION"
        ))
        .await?;
    let parsed: Vec<(String, String)> = columns
        .iter()
        .map(|c| {
            let n = if c.nullable { "YES" } else { "NO" };
            (c.name.to_string(), n.to_string())
        })
        .collect();
    assert_eq!(parsed, live);

    // Named tables only.
    let only = pull_schema(&source, "shop", &["zz_other".to_string()])
        .await
        .map_err(|e| e.to_string())?;
    assert!(only.contains("CREATE TABLE `zz_other`") && !only.contains("`orders`"));
    let err = pull_schema(&source, "shop", &["nope".to_string()])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no table `nope`"), "{err}");

    // The check against the pulled DDL finds nothing, with every column type.
    let expected: &'static [ExpectedTable] = Box::leak(Box::new([
        ExpectedTable::new("shop", "orders", columns),
        ExpectedTable::new("shop", "addresses", expected_from_ddl(&text, "addresses")),
    ]));
    let problems = check_schema(&source, expected)
        .await
        .map_err(|e| e.to_string())?;
    assert!(problems.is_empty(), "{problems:#?}");

    // An added column is fine.
    mysql
        .exec("ALTER TABLE orders ADD COLUMN extra INT, ADD COLUMN more VARCHAR(5)")
        .await?;
    let problems = check_schema(&source, expected)
        .await
        .map_err(|e| e.to_string())?;
    assert!(problems.is_empty(), "{problems:#?}");

    // Dropped, retyped and newly nullable used columns, and a missing table, are reported.
    mysql
        .exec(
            "ALTER TABLE orders DROP COLUMN code, MODIFY note VARCHAR(500) CHARACTER SET latin1,
                 MODIFY status TINYINT(4) NULL;
             DROP TABLE addresses",
        )
        .await?;
    let problems = check_schema(&source, expected)
        .await
        .map_err(|e| e.to_string())?;
    let kinds: Vec<(Option<&str>, &ProblemKind)> = problems
        .iter()
        .map(|p| (p.column.as_deref(), &p.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Some("status"), &ProblemKind::BecameNullable),
            (Some("code"), &ProblemKind::MissingColumn),
            (
                Some("note"),
                &ProblemKind::TypeChanged {
                    expected: "VARCHAR(300)".into(),
                    found: "varchar(500)".into()
                }
            ),
            (None, &ProblemKind::MissingTable),
        ],
        "{problems:#?}"
    );
    for p in &problems {
        assert!(p.message.contains("mee schema pull shop"), "{}", p.message);
        assert!(p.message.contains("rebuild mee"), "{}", p.message);
        assert_eq!(p.database, "shop");
        assert_eq!(p.physical, shop);
    }
    assert_eq!(
        problems[2].message,
        format!(
            "column `note` of `shop`.`orders` changed type from `VARCHAR(300)` (what mee was \
             built with) to `varchar(500)` on mee@127.0.0.1:13306; run `mee schema pull shop` and \
             rebuild mee"
        )
    );

    // A database that does not exist is one clear sentence.
    let err = pull_schema(
        &Source::new(
            SourceConfig::new(mysql.mee_url()).with_database("shop", format!("{shop}_missing")),
        )
        .map_err(|e| e.to_string())?,
        "shop",
        &[],
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not exist"), "{err}");

    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

/// A used column in a charset mee cannot decode from the binlog as MySQL does is refused at
/// start-up with the column named; the charsets it decodes (latin1, cp1251, gbk, big5) pass.
#[tokio::test]
async fn undecodable_charsets_of_used_columns_are_refused() -> TestResult {
    let mut mysql = TestMysql::with_databases(&["shop"]).await?;
    mysql
        .exec(
            "CREATE TABLE cs (id INT PRIMARY KEY, l1 VARCHAR(10) CHARACTER SET latin1,
             w VARCHAR(10) CHARACTER SET cp1251, g VARCHAR(10) CHARACTER SET gbk,
             b VARCHAR(10) CHARACTER SET big5, s VARCHAR(10) CHARACTER SET swe7,
             t TEXT CHARACTER SET tis620, unused VARCHAR(10) CHARACTER SET dec8)",
        )
        .await?;
    let config = SourceConfig::new(mysql.mee_url()).with_database("shop", mysql.db("shop"));
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    static COLUMNS: &[ExpectedColumn] = &[
        ExpectedColumn::new("id", "INT", false),
        ExpectedColumn::new("l1", "VARCHAR(10)", true),
        ExpectedColumn::new("w", "VARCHAR(10)", true),
        ExpectedColumn::new("g", "VARCHAR(10)", true),
        ExpectedColumn::new("b", "VARCHAR(10)", true),
        ExpectedColumn::new("s", "VARCHAR(10)", true),
        ExpectedColumn::new("t", "TEXT", true),
    ];
    static EXPECTED: &[ExpectedTable] = &[ExpectedTable::new("shop", "cs", COLUMNS)];
    let problems = check_schema(&source, EXPECTED)
        .await
        .map_err(|e| e.to_string())?;
    let found: Vec<(Option<&str>, &ProblemKind)> = problems
        .iter()
        .map(|p| (p.column.as_deref(), &p.kind))
        .collect();
    assert_eq!(found.len(), 2, "{problems:?}");
    for (column, charset) in [("s", "swe7"), ("t", "tis620")] {
        let p = problems
            .iter()
            .find(|p| p.column.as_deref() == Some(column))
            .ok_or_else(|| format!("no problem for `{column}`: {problems:?}"))?;
        assert!(
            matches!(&p.kind, ProblemKind::Charset { charset: c, .. } if c == charset),
            "{p:?}"
        );
        assert!(
            p.message.contains(&format!("column `{column}`"))
                && p.message.contains(charset)
                && p.message.contains("utf8mb4"),
            "{}",
            p.message
        );
    }
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}
