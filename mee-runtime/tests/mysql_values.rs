//! A SELECT through the MySQL reader gives, for every column type, exactly the `Value` the binlog
//! decoder gives for the same row: through the binary protocol (prepared statements), the text
//! protocol, and inside a snapshot.

mod binlog_support;

use binlog_support::*;
use mee_runtime::Value;
use mee_runtime::binlog::{RowKind, StartAt};
use mee_runtime::mysql::{Source, SourceConfig, Sql};
use mee_testkit::{TestFailure, TestMysql, TestResult};

const TABLE: &str = "CREATE TABLE t (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    y YEAR, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dec2 DECIMAL(65,30),
    c CHAR(10), c255 CHAR(255), vc VARCHAR(300), tx TEXT, bn BINARY(4), vb VARBINARY(10), bl BLOB,
    e ENUM('small','medium','large'), st SET('a','b','c','d'),
    dt DATE, dtm DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6),
    ts TIMESTAMP NULL, ts2 TIMESTAMP(2) NULL, ts6 TIMESTAMP(6) NULL,
    tm TIME, tm1 TIME(1), tm6 TIME(6), b1 BIT(1), b12 BIT(12), b64 BIT(64), j JSON, n INT,
    l1 VARCHAR(20) CHARACTER SET latin1, cb VARCHAR(20) COLLATE utf8mb4_bin, f2 FLOAT
) CHARACTER SET utf8mb4";

const ROWS: &str = "INSERT INTO t VALUES
    (18446744073709551615, -128, 255, -32768, 65535, -8388608, 16777215,
    -2147483648, 4294967295, -9223372036854775808, 9223372036854775808, 2155, -0.1,
    1.7976931348623157e308, -12345678.90,
    '12345678901234567890123456789012345.123456789012345678901234567890',
    'héllo  ', 'x', '😀 ünïcode 𝄞', 'long text 🚀', 'ab', X'00FF10', X'DEADBEEF00',
    'large', 'd,a', '2024-02-29', '9999-12-31 23:59:59', '2024-01-02 03:04:05.678',
    '1000-01-01 00:00:00.000001', '2038-01-19 03:14:07', '2024-05-06 07:08:09.12',
    '1970-01-01 00:00:01.000001', '-838:59:59', '12:34:56.7', '-00:00:00.000001',
    b'1', b'101010101010', X'FFFFFFFFFFFFFFFF', '{\"a\": [1, 2, {\"b\": null}]}', NULL,
    'café', 'Bin ÄÖ', 3.4e38),
    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '',
    '', '', 'small', '', '0000-00-00', '0000-00-00 00:00:00', NULL, NULL,
    '0000-00-00 00:00:00', NULL, NULL, '00:00:00', NULL, NULL, b'0', NULL, NULL, NULL, NULL,
    '', '', 1.2),
    (7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1999, 123456.79, 0.1, 0.05, -0.000000000000000000000000000001,
    'a', 'b', 'c', 'd', X'01020304', X'', X'', 'medium', 'a,b,c,d', '1999-12-31',
    '2000-01-01 00:00:00', '2000-01-01 00:00:00.001', '2000-01-01 00:00:00.000999',
    '2000-02-29 12:00:00', '2001-01-01 00:00:00.01', '2001-01-01 00:00:00.999999',
    '838:59:59', '-00:00:00.5', '100:00:00.000001', b'0', b'1', b'1', '[]', -1,
    NULL, NULL, -0.0001),
    (8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

/// The FLOAT columns `f` and `f2`.
const FLOAT_F: usize = 12;
const FLOAT_F2: usize = 42;

static ALL: Sql = Sql::new("SELECT * FROM ", "main", ".`t` ORDER BY `id`");

fn by_id(rows: Vec<Vec<Value>>) -> Vec<(String, Vec<Value>)> {
    let mut out: Vec<(String, Vec<Value>)> = rows
        .into_iter()
        .map(|r| (format!("{:?}", r.first()), r))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn same_rows(
    what: &str,
    got: Vec<Vec<Value>>,
    want: &[(String, Vec<Value>)],
    skip: &[usize],
) -> TestResult {
    let got = by_id(got);
    if got.len() != want.len() {
        return Err(TestFailure::new(format!(
            "{what}: {} rows, the binlog has {}",
            got.len(),
            want.len()
        )));
    }
    for ((id, g), (_, w)) in got.iter().zip(want) {
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            if a != b && !skip.contains(&i) {
                return Err(TestFailure::new(format!(
                    "{what}: row {id}, column {i}: SELECT gives {a:?}, the binlog {b:?}"
                )));
            }
        }
        assert_eq!(g.len(), w.len(), "{what}: column count of row {id}");
    }
    Ok(())
}

#[tokio::test]
async fn select_values_equal_binlog_values_for_every_column_type() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql.exec(TABLE).await?;
    mysql.exec("SET time_zone = '+00:00'").await?;
    let start = head(&mut mysql).await?;
    mysql.exec(ROWS).await?;

    // What the binlog decoder makes of the inserted rows.
    let events = read_to_end(&mysql, 7, StartAt::Position(start), &[&db]).await?;
    let mut decoded = Vec::new();
    for rows in rows_of(&events) {
        assert_eq!(rows.kind, RowKind::Insert);
        for change in &rows.rows {
            decoded.push(change.after.clone().ok_or("insert without after image")?);
        }
    }
    assert_eq!(decoded.len(), 4);
    let want = by_id(decoded);

    let config = SourceConfig::new(mysql.mee_url()).with_database("main", &db);
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    let stmt = source.statement(&ALL);

    // Binary protocol (prepared statement), streamed.
    let mut session = source.session().await.map_err(|e| e.to_string())?;
    let rows = session
        .fetch(stmt.text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    same_rows("binary protocol", rows, &want, &[])?;

    // Text protocol: the same, except FLOAT, which the server prints with 6 significant digits
    // in text results (so `fetch_text` is for administrative statements only).
    let rows = session
        .fetch_text(stmt.text())
        .await
        .map_err(|e| e.to_string())?;
    same_rows("text protocol", rows, &want, &[FLOAT_F, FLOAT_F2])?;

    // Selected column order is kept, and an expression column reads as its own type.
    let rows = session
        .fetch(
            &format!("SELECT f, id, CONCAT(c, '!'), id + 1 FROM `{db}`.t WHERE id = ?"),
            &[Value::Int(7)],
        )
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        rows,
        vec![vec![
            Value::Float(123_456.79),
            Value::Int(7),
            Value::Text("a!".into()),
            Value::Int(8)
        ]]
    );

    // Inside a snapshot.
    let (mut snap, _) = source.snapshot().await.map_err(|e| e.to_string())?;
    let rows = snap
        .fetch(stmt.text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    same_rows("snapshot", rows, &want, &[])?;
    snap.finish().await.map_err(|e| e.to_string())?;

    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

/// Character columns in charsets other than utf8mb4, each with text that uses the charset's own
/// bytes (latin1's 0x80 is the euro sign: MySQL's latin1 is cp1252).
const CHARSETS: &str = "CREATE TABLE cs (
    id INT NOT NULL PRIMARY KEY,
    l1 VARCHAR(40) CHARACTER SET latin1, w1251 VARCHAR(40) CHARACTER SET cp1251,
    w1250 VARCHAR(40) CHARACTER SET cp1250, l2 VARCHAR(40) CHARACTER SET latin2,
    k VARCHAR(40) CHARACTER SET koi8r, g VARCHAR(40) CHARACTER SET gbk,
    g2 VARCHAR(40) CHARACTER SET gb2312, b5 VARCHAR(40) CHARACTER SET big5,
    sj VARCHAR(40) CHARACTER SET cp932, ej VARCHAR(40) CHARACTER SET ujis,
    kr VARCHAR(40) CHARACTER SET euckr, u2 VARCHAR(40) CHARACTER SET ucs2,
    u16 VARCHAR(40) CHARACTER SET utf16, u16le VARCHAR(40) CHARACTER SET utf16le,
    u32 VARCHAR(40) CHARACTER SET utf32, gc CHAR(8) CHARACTER SET gbk,
    lt TEXT CHARACTER SET latin1, gt MEDIUMTEXT CHARACTER SET gbk,
    le ENUM('café','€uro','plain') CHARACTER SET latin1,
    ls SET('ä','ö','ü') CHARACTER SET latin1,
    ge ENUM('你好','再见') CHARACTER SET gbk
) CHARACTER SET utf8mb4";

#[tokio::test]
async fn select_values_equal_binlog_values_in_every_charset() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql.exec(CHARSETS).await?;
    let start = head(&mut mysql).await?;
    let texts = [
        "€ café ‰ Œ",
        "Привет, мир",
        "Zażółć gęślą",
        "Žluťoučký kůň",
        "Съешь же ещё",
        "你好，世界",
        "中文简体",
        "中文測試",
        "こんにちは ｶﾀｶﾅ",
        "ひらがな漢字",
        "안녕하세요",
        "AП€",
        "Ω😀",
        "ü😀",
        "😀𝄞",
        "汉字",
        "Ünïcödé € text",
        "长文本",
    ];
    let quoted: Vec<String> = texts.iter().map(|t| format!("'{t}'")).collect();
    mysql
        .exec(&format!(
            "INSERT INTO cs VALUES (1, {}, '€uro', 'ä,ü', '再见'), \
             (2, {}, 'café', '', '你好')",
            quoted.join(", "),
            vec!["NULL"; texts.len()].join(", ")
        ))
        .await?;

    let events = read_to_end(&mysql, 8, StartAt::Position(start), &[&db]).await?;
    let mut decoded = Vec::new();
    for rows in rows_of(&events) {
        for change in &rows.rows {
            decoded.push(change.after.clone().ok_or("insert without after image")?);
        }
    }
    // The binlog's bytes, decoded as the server converts them, are the text as written.
    let mut expected: Vec<Value> = vec![Value::Int(1)];
    expected.extend(texts.iter().map(|t| Value::Text((*t).to_string())));
    expected.extend(["€uro", "ä,ü", "再见"].map(|t| Value::Text(t.to_string())));
    assert_eq!(decoded.first(), Some(&expected));
    let mut second = vec![Value::Int(2)];
    second.extend(std::iter::repeat_n(Value::Null, texts.len()));
    second.extend(["café", "", "你好"].map(|t| Value::Text(t.to_string())));
    assert_eq!(decoded.get(1), Some(&second));

    // And a SELECT gives the same values.
    static CS: Sql = Sql::new("SELECT * FROM ", "main", ".`cs` ORDER BY `id`");
    let config = SourceConfig::new(mysql.mee_url()).with_database("main", &db);
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    let mut session = source.session().await.map_err(|e| e.to_string())?;
    let rows = session
        .fetch(source.statement(&CS).text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(rows, vec![expected, second]);
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}
