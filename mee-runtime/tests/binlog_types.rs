//! Every column type decodes to exactly the `Value` a `SELECT` in a `+00:00` session shows, in
//! INSERT, UPDATE (before and after) and DELETE images, multi-row events and a multi-statement
//! transaction.

mod binlog_support;

use binlog_support::*;
use mee_runtime::Value;
use mee_runtime::binlog::{BinlogEvent, RowKind, StartAt};
use mee_runtime::value::{Date, DateTime, Time};
use mee_testkit::{TestMysql, TestResult};

const TABLE: &str = "CREATE TABLE t (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    y YEAR, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dec2 DECIMAL(65,30),
    c CHAR(10), c255 CHAR(255), vc VARCHAR(300), tx TEXT, bn BINARY(4), vb VARBINARY(10), bl BLOB,
    e ENUM('small','medium','large'), st SET('a','b','c','d'),
    dt DATE, dtm DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6),
    ts TIMESTAMP NULL, ts2 TIMESTAMP(2) NULL, ts6 TIMESTAMP(6) NULL,
    tm TIME, tm1 TIME(1), tm6 TIME(6), b1 BIT(1), b12 BIT(12), b64 BIT(64), j JSON, n INT
) CHARACTER SET utf8mb4";

const COLUMNS: &[&str] = &[
    "id", "ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "y", "f", "d", "dec1",
    "dec2", "c", "c255", "vc", "tx", "bn", "vb", "bl", "e", "st", "dt", "dtm", "dtm3", "dtm6",
    "ts", "ts2", "ts6", "tm", "tm1", "tm6", "b1", "b12", "b64", "j", "n",
];

const ROW_MAX: &str = "(18446744073709551615, -128, 255, -32768, 65535, -8388608, 16777215,
    -2147483648, 4294967295, -9223372036854775808, 9223372036854775808, 2155, -0.1,
    1.7976931348623157e308, -12345678.90,
    '12345678901234567890123456789012345.123456789012345678901234567890',
    'héllo  ', 'x', '😀 ünïcode 𝄞', 'long text 🚀', 'ab', X'00FF10', X'DEADBEEF00',
    'large', 'd,a', '2024-02-29', '9999-12-31 23:59:59', '2024-01-02 03:04:05.678',
    '1000-01-01 00:00:00.000001', '2038-01-19 03:14:07', '2024-05-06 07:08:09.12',
    '1970-01-01 00:00:01.000001', '-838:59:59', '12:34:56.7', '-00:00:00.000001',
    b'1', b'101010101010', X'FFFFFFFFFFFFFFFF', '{\"a\": [1, 2, {\"b\": null}]}', NULL)";

const ROW_ZERO: &str = "(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '',
    '', '', 'small', '', '0000-00-00', '0000-00-00 00:00:00', NULL, NULL,
    '0000-00-00 00:00:00', NULL, NULL, '00:00:00', NULL, NULL, b'0', NULL, NULL, NULL, NULL)";

fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn dt(d: Date, hour: u8, minute: u8, second: u8, micros: u32) -> Value {
    Value::DateTime(DateTime {
        date: d,
        hour,
        minute,
        second,
        micros,
    })
}

fn time(negative: bool, hours: u32, minute: u8, second: u8, micros: u32) -> Value {
    Value::Time(Time {
        negative,
        hours,
        minute,
        second,
        micros,
    })
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn expected_max() -> Vec<Value> {
    vec![
        Value::UInt(u64::MAX),
        Value::Int(-128),
        Value::Int(255),
        Value::Int(-32768),
        Value::Int(65535),
        Value::Int(-8_388_608),
        Value::Int(16_777_215),
        Value::Int(i64::from(i32::MIN)),
        Value::Int(4_294_967_295),
        Value::Int(i64::MIN),
        Value::UInt(1 << 63),
        Value::Int(2155),
        Value::Float(-0.1),
        Value::Float(f64::MAX),
        Value::Decimal("-12345678.90".into()),
        Value::Decimal("12345678901234567890123456789012345.123456789012345678901234567890".into()),
        // CHAR drops trailing spaces, as SELECT shows it.
        text("héllo"),
        text("x"),
        text("😀 ünïcode 𝄞"),
        text("long text 🚀"),
        // BINARY(4) keeps its zero padding, as SELECT shows it.
        Value::Bytes(b"ab\0\0".to_vec()),
        Value::Bytes(vec![0x00, 0xff, 0x10]),
        Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef, 0x00]),
        text("large"),
        text("a,d"),
        Value::Date(date(2024, 2, 29)),
        dt(date(9999, 12, 31), 23, 59, 59, 0),
        dt(date(2024, 1, 2), 3, 4, 5, 678_000),
        dt(date(1000, 1, 1), 0, 0, 0, 1),
        dt(date(2038, 1, 19), 3, 14, 7, 0),
        dt(date(2024, 5, 6), 7, 8, 9, 120_000),
        dt(date(1970, 1, 1), 0, 0, 1, 1),
        time(true, 838, 59, 59, 0),
        time(false, 12, 34, 56, 700_000),
        time(true, 0, 0, 0, 1),
        Value::UInt(1),
        Value::UInt(0b1010_1010_1010),
        Value::UInt(u64::MAX),
        text(r#"{"a": [1, 2, {"b": null}]}"#),
        Value::Null,
    ]
}

fn expected_zero() -> Vec<Value> {
    let mut v = vec![Value::Int(0); 12];
    v.extend([
        Value::Float(0.0),
        Value::Float(0.0),
        Value::Decimal("0.00".into()),
        Value::Decimal(format!("0.{}", "0".repeat(30))),
        text(""),
        text(""),
        text(""),
        text(""),
        Value::Bytes(vec![0; 4]),
        Value::Bytes(vec![]),
        Value::Bytes(vec![]),
        text("small"),
        text(""),
        Value::Date(date(0, 0, 0)),
        dt(date(0, 0, 0), 0, 0, 0, 0),
        Value::Null,
        Value::Null,
        dt(date(0, 0, 0), 0, 0, 0, 0),
        Value::Null,
        Value::Null,
        time(false, 0, 0, 0, 0),
        Value::Null,
        Value::Null,
        Value::UInt(0),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ]);
    v
}

/// Compares images column by column so that a failure names the column.
fn assert_image(what: &str, got: &[Value], want: &[Value]) {
    assert_eq!(got.len(), want.len(), "{what}: column count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: column `{}`", COLUMNS[i]);
    }
}

#[tokio::test]
async fn every_column_type_decodes_exactly_in_all_images() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql.exec(TABLE).await?;
    mysql.exec("SET time_zone = '+00:00'").await?;
    let start = head(&mut mysql).await?;

    // One multi-row INSERT: one rows event with two rows.
    mysql
        .exec(&format!("INSERT INTO t VALUES {ROW_MAX}, {ROW_ZERO}"))
        .await?;
    // One transaction of three statements: a single commit at its end.
    mysql
        .exec(
            "START TRANSACTION;
             UPDATE t SET ti = 127, vc = 'ça', dec1 = 0.05, ts = '2001-02-03 04:05:06', \
                 e = 'small', st = '', n = 7, j = '[]' WHERE id = 18446744073709551615;
             DELETE FROM t WHERE id = 0;
             INSERT INTO t (id, dtm6, tm6) VALUES (5, '2020-02-02 02:02:02.5', '-01:02:03.04');
             COMMIT",
        )
        .await?;

    let events = read_to_end(&mysql, 0, StartAt::Position(start), &[&db]).await?;
    assert_eq!(
        shape(&events),
        vec![
            "I t [UInt(18446744073709551615),Int(0)]",
            "C",
            "U t [UInt(18446744073709551615)]",
            "D t [Int(0)]",
            "I t [Int(5)]",
            "C",
        ]
    );
    let rows = rows_of(&events);

    // The plan: names in order, the primary key, signedness.
    let plan = &rows[0].plan;
    assert_eq!(plan.schema(), db);
    let names: Vec<&str> = plan.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, COLUMNS);
    assert_eq!(plan.primary_key(), &[0]);
    assert!(plan.columns()[0].unsigned && !plan.columns()[1].unsigned);
    assert!(plan.columns()[0].primary_key && !plan.columns()[0].nullable);

    // INSERT: after images only.
    assert_eq!(rows[0].kind, RowKind::Insert);
    assert!(rows[0].rows.iter().all(|r| r.before.is_none()));
    assert_image(
        "insert max",
        rows[0].rows[0].after.as_deref().unwrap_or(&[]),
        &expected_max(),
    );
    assert_image(
        "insert zero",
        rows[0].rows[1].after.as_deref().unwrap_or(&[]),
        &expected_zero(),
    );

    // UPDATE: before = the inserted row, after = the changed one.
    assert_eq!(rows[1].kind, RowKind::Update);
    let change = &rows[1].rows[0];
    assert_image(
        "update before",
        change.before.as_deref().unwrap_or(&[]),
        &expected_max(),
    );
    let mut after = expected_max();
    after[1] = Value::Int(127);
    after[18] = text("ça");
    after[14] = Value::Decimal("0.05".into());
    after[29] = dt(date(2001, 2, 3), 4, 5, 6, 0);
    after[23] = text("small");
    after[24] = text("");
    after[39] = Value::Int(7);
    after[38] = text("[]");
    assert_image(
        "update after",
        change.after.as_deref().unwrap_or(&[]),
        &after,
    );

    // DELETE: before image only.
    assert_eq!(rows[2].kind, RowKind::Delete);
    assert!(rows[2].rows[0].after.is_none());
    assert_image(
        "delete",
        rows[2].rows[0].before.as_deref().unwrap_or(&[]),
        &expected_zero(),
    );

    // INSERT with defaults: NULLs and two fractional temporals.
    let ins = rows[3].rows[0].after.as_deref().unwrap_or(&[]);
    assert_eq!(ins[0], Value::Int(5));
    assert_eq!(ins[28], dt(date(2020, 2, 2), 2, 2, 2, 500_000));
    assert_eq!(ins[34], time(true, 1, 2, 3, 40_000));
    assert!(
        ins.iter()
            .enumerate()
            .all(|(i, v)| [0, 28, 34].contains(&i) || v.is_null())
    );

    // The values agree with what SELECT returns for the same row.
    let shown: Vec<(String, String, String, String)> = mysql
        .query(
            "SELECT CAST(ts AS CHAR), CAST(dtm3 AS CHAR), CAST(tm AS CHAR), CAST(dec2 AS CHAR) \
             FROM t WHERE id = 18446744073709551615",
        )
        .await?;
    assert_eq!(
        shown[0],
        (
            "2001-02-03 04:05:06".into(),
            "2024-01-02 03:04:05.678".into(),
            "-838:59:59".into(),
            "12345678901234567890123456789012345.123456789012345678901234567890".into()
        )
    );

    // One commit per transaction, each after the one before.
    let commits = commits_of(&events);
    assert_eq!(commits.len(), 2);
    assert!(commits[0] < commits[1]);
    assert!(commits.iter().all(|c| c.gtid.is_some()), "{commits:?}");
    if let BinlogEvent::Rows(r) = &events[2] {
        assert!(r.log_pos < commits[1].pos);
    }
    mysql.drop_databases().await
}
