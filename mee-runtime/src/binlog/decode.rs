//! Per-table decode plans: everything a TABLE_MAP event says about a table (types, metadata,
//! signedness, charsets, names, primary key), turned once into a list of column decoders that
//! read rows events' images straight into `Vec<Value>`.
//!
//! mysql_common's `RowsEvent::rows()` re-reads the table map's optional metadata and builds
//! named `Column`s for every row, which caps it at 130k-190k rows/s. A plan does that work once
//! per table map and then only walks the row bytes.
//!
//! Value representation (the same as a `SELECT` in a session with `time_zone = '+00:00'`):
//! - integers of every width become `Int`, unsigned values above `i64::MAX` become `UInt`;
//! - `FLOAT` becomes the `f64` of the shortest decimal text that reads back as the same `f32`
//!   (so `1.2` stays `1.2`, not `1.2000000476837158`), `DOUBLE` is exact;
//! - `DECIMAL` is its exact text with all scale digits (`"12.50"`, `"-0.01"`);
//! - `CHAR`/`VARCHAR`/`TEXT`/`ENUM`/`SET`/MariaDB `JSON` are `Text` (ENUM/SET as their labels),
//!   decoded from the column's charset as the server converts it to utf8mb4 ([`crate::charset`]:
//!   latin1 is cp1252, cp1251, gbk, big5, ...); where the text may hide a difference of the
//!   stored bytes, [`RowChange::raw`] keeps them for change detection;
//!   columns with the `binary` charset (63: `BINARY`, `VARBINARY`, `BLOB`) and `GEOMETRY` are
//!   `Bytes`;
//! - `DATE`, `DATETIME(n)` and `TIME(n)` map to their `Value` variants; zero dates stay zero (a
//!   document writes a zero or invalid date as null, see `Date::is_valid`);
//! - `TIMESTAMP(n)`: the binlog carries Unix seconds; they become a `DateTime` in UTC, i.e. what
//!   `SELECT` shows in a `+00:00` session (the zero timestamp stays `0000-00-00 00:00:00`);
//! - `YEAR` is `Int` (`0` for the zero year), `BIT(n)` is `UInt`.

use crate::charset::TextCodec;
use crate::value::{Date, DateTime, Time, Value};
use mysql_common::binlog::events::{OptionalMetaExtractor, OptionalMetadataField, TableMapEvent};
use mysql_common::constants::ColumnType;
use std::fmt;

/// Why a table map or a row image could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    message: String,
}

impl DecodeError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// What a rows event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    Insert,
    Update,
    Delete,
}

impl RowKind {
    /// The kind of a rows event type code (V1 and V2 write/update/delete), if it is one.
    pub fn from_event_type(type_code: u8) -> Option<(RowKind, bool)> {
        match type_code {
            23 => Some((RowKind::Insert, false)),
            24 => Some((RowKind::Update, false)),
            25 => Some((RowKind::Delete, false)),
            30 => Some((RowKind::Insert, true)),
            31 => Some((RowKind::Update, true)),
            32 => Some((RowKind::Delete, true)),
            _ => None,
        }
    }
}

/// One changed row: `before` for UPDATE and DELETE, `after` for INSERT and UPDATE. Each image has
/// one value per column of the table, in the order of [`TablePlan::columns`].
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
    /// The raw bytes of the character columns whose decoded text may not tell two raw values
    /// apart (see [`crate::charset::Decoded::keep_raw`]); empty for almost every row.
    pub raw: Vec<RawText>,
}

/// The raw bytes of one character column of a [`RowChange`], per image; `None` for an image
/// without the column or whose text decoded exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawText {
    pub column: usize,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

impl RowChange {
    /// An insert or delete image, or an update's two, with nothing kept raw.
    pub fn new(before: Option<Vec<Value>>, after: Option<Vec<Value>>) -> RowChange {
        RowChange {
            before,
            after,
            raw: Vec::new(),
        }
    }

    /// Whether column `i` differs between the before and after images, comparing raw bytes
    /// where the decoded text may hide a difference (MySQL compares what is stored, and a
    /// change the text cannot show may still change which rows a link matches).
    pub fn column_changed(&self, i: usize) -> bool {
        if let Some(r) = self.raw.iter().find(|r| r.column == i) {
            return match (&r.before, &r.after) {
                (Some(b), Some(a)) => b != a,
                // Only one side needed its raw form: the bytes cannot be equal.
                _ => true,
            };
        }
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => b.get(i) != a.get(i),
            _ => true,
        }
    }
}

/// What the table map says about one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name (`@N` when the server logs no names, which the settings check refuses).
    pub name: String,
    /// The column type as the binlog describes it (ENUM and SET resolved from CHAR).
    pub column_type: ColumnType,
    pub unsigned: bool,
    pub nullable: bool,
    /// The collation id of character, ENUM and SET columns (63 means binary).
    pub charset: Option<u16>,
    pub primary_key: bool,
}

/// How string bytes become a `Value`: the column's charset (see [`crate::charset`]).
type TextKind = TextCodec;

/// The codec of a table map's collation id: `binary` keeps bytes, a charset mee knows is decoded
/// as the server converts it; an unknown id (which start-up refuses for used columns) reads as
/// UTF-8, its undecodable values kept raw for comparison.
fn text_kind(charset: Option<u16>) -> TextKind {
    charset
        .and_then(TextCodec::of_collation)
        .unwrap_or(TextCodec::Utf8)
}

/// The value of a character column's bytes; `raw` is set when the text alone may not tell two
/// raw values apart.
#[inline]
fn text_value(text: TextKind, bytes: &[u8], raw: &mut bool) -> Value {
    match text.decode(bytes) {
        None => Value::Bytes(bytes.to_vec()),
        Some(d) => {
            *raw = d.keep_raw;
            Value::Text(d.text)
        }
    }
}

/// The per-column decoding step, with every parameter resolved from the table map.
#[derive(Clone, Debug, PartialEq)]
enum Decoder {
    Int {
        width: u8,
        unsigned: bool,
    },
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    /// `BINARY(n)`: the binlog drops the trailing zero bytes that `SELECT` shows, so they are
    /// put back up to `n`.
    FixedBinary {
        len_bytes: u8,
        width: u16,
    },
    /// `VARCHAR`, `VARBINARY`, `CHAR`, `BINARY`: a 1- or 2-byte length, then the bytes.
    Str {
        len_bytes: u8,
        text: TextKind,
    },
    /// `BLOB`/`TEXT` (and `GEOMETRY`): a 1- to 4-byte length, then the bytes.
    Blob {
        len_bytes: u8,
        text: TextKind,
    },
    Enum {
        width: u8,
        labels: Vec<String>,
    },
    Set {
        width: u8,
        labels: Vec<String>,
    },
    Year,
    Date,
    DateTimeOld,
    DateTime2 {
        fsp: u8,
    },
    TimestampOld,
    Timestamp2 {
        fsp: u8,
    },
    TimeOld,
    Time2 {
        fsp: u8,
    },
    Bit {
        bytes: u8,
    },
    /// MySQL's binary JSON (MariaDB logs JSON as text, i.e. as a BLOB).
    Json,
    Null,
    Unsupported {
        type_code: u8,
    },
}

/// Everything needed to decode the rows of one table, built once per TABLE_MAP event.
#[derive(Clone, Debug, PartialEq)]
pub struct TablePlan {
    table_id: u64,
    schema: String,
    table: String,
    columns: Vec<ColumnInfo>,
    primary_key: Vec<usize>,
    decoders: Vec<Decoder>,
    has_names: bool,
}

impl TablePlan {
    /// Builds the plan of a table map event.
    pub fn from_table_map(tme: &TableMapEvent<'_>) -> Result<TablePlan, DecodeError> {
        let schema = tme.database_name().into_owned();
        let table = tme.table_name().into_owned();
        let n = usize::try_from(tme.columns_count())
            .map_err(|_| DecodeError::new("the table map has too many columns"))?;
        let ctx = |what: &str| format!("table map of `{schema}`.`{table}`: {what}");

        // Column types as logged, and as really meant (CHAR metadata may say ENUM or SET).
        let mut raw_types = Vec::with_capacity(n);
        let mut real_types = Vec::with_capacity(n);
        for i in 0..n {
            let raw = tme.get_raw_column_type(i).ok().flatten();
            let real = tme.get_column_type(i).ok().flatten();
            raw_types.push(raw);
            real_types.push(real);
        }

        // Optional metadata (binlog_row_metadata): the extractor gives signedness, charsets,
        // names and the primary key; ENUM and SET labels are read from the raw fields.
        let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta())
            .map_err(|e| DecodeError::new(ctx(&format!("bad optional metadata: {e}"))))?;
        // Labels are bytes in the column's charset, decoded below once the charset is known.
        let mut enum_labels: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut set_labels: Vec<Vec<Vec<u8>>> = Vec::new();
        for field in tme.iter_optional_meta() {
            match field {
                Ok(OptionalMetadataField::EnumStrValue(values)) => {
                    for v in values.iter_values() {
                        let v =
                            v.map_err(|e| DecodeError::new(ctx(&format!("bad ENUM labels: {e}"))))?;
                        enum_labels
                            .push(v.values().iter().map(|l| l.value_raw().to_vec()).collect());
                    }
                }
                Ok(OptionalMetadataField::SetStrValue(values)) => {
                    for v in values.iter_values() {
                        let v =
                            v.map_err(|e| DecodeError::new(ctx(&format!("bad SET labels: {e}"))))?;
                        set_labels
                            .push(v.values().iter().map(|l| l.value_raw().to_vec()).collect());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(DecodeError::new(ctx(&format!(
                        "bad optional metadata: {e}"
                    ))));
                }
            }
        }

        let mut signedness = extractor.iter_signedness();
        let mut charsets = extractor.iter_charset();
        let mut enum_set_charsets = extractor.iter_enum_and_set_charset();
        let mut names = extractor.iter_column_name();
        let mut primary_key = Vec::new();
        for k in extractor.iter_primary_key() {
            let k = k.map_err(|e| DecodeError::new(ctx(&format!("bad primary key: {e}"))))?;
            primary_key.push(k as usize);
        }
        let nullable = tme.null_bitmask();

        let mut columns = Vec::with_capacity(n);
        let mut decoders = Vec::with_capacity(n);
        let mut has_names = false;
        let (mut enum_idx, mut set_idx) = (0usize, 0usize);
        for i in 0..n {
            let meta = tme.get_column_metadata(i).unwrap_or(&[]);
            let raw = raw_types[i];
            let real = real_types[i];
            // Signedness covers the numeric columns in order (counted on the logged type).
            let unsigned = match raw {
                Some(t) if t.is_numeric_type() => signedness.next().unwrap_or(false),
                _ => false,
            };
            let charset = match real {
                Some(t) if t.is_character_type() => charsets.next().transpose().ok().flatten(),
                Some(t) if t.is_enum_or_set_type() => {
                    enum_set_charsets.next().transpose().ok().flatten()
                }
                _ => None,
            };
            let name = match names.next() {
                Some(Ok(name)) => {
                    has_names = true;
                    name.name().into_owned()
                }
                _ => format!("@{i}"),
            };
            let labels = match real {
                Some(ColumnType::MYSQL_TYPE_ENUM) => {
                    enum_idx += 1;
                    enum_labels.get(enum_idx - 1).cloned()
                }
                Some(ColumnType::MYSQL_TYPE_SET) => {
                    set_idx += 1;
                    set_labels.get(set_idx - 1).cloned()
                }
                _ => None,
            }
            .map(|labels| {
                let codec = text_kind(charset);
                labels
                    .iter()
                    .map(|l| match codec.decode(l) {
                        Some(d) => d.text,
                        None => String::from_utf8_lossy(l).into_owned(),
                    })
                    .collect::<Vec<String>>()
            });
            let type_code = tme
                .get_raw_column_type(i)
                .map(|t| t.map_or(0, |t| t as u8))
                .unwrap_or_else(|e| e.0);
            let decoder = match real {
                Some(t) => decoder_for(t, meta, unsigned, charset, labels),
                None => Decoder::Unsupported { type_code },
            };
            columns.push(ColumnInfo {
                name,
                column_type: real.unwrap_or(ColumnType::MYSQL_TYPE_NULL),
                unsigned,
                nullable: nullable.get(i).map(|b| *b).unwrap_or(true),
                charset,
                primary_key: primary_key.contains(&i),
            });
            decoders.push(decoder);
        }

        Ok(TablePlan {
            table_id: tme.table_id(),
            schema,
            table,
            columns,
            primary_key,
            decoders,
            has_names,
        })
    }

    pub fn table_id(&self) -> u64 {
        self.table_id
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }

    /// The position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Column indexes of the primary key, in key order (empty when the table has none or the
    /// server logs no primary key metadata).
    pub fn primary_key(&self) -> &[usize] {
        &self.primary_key
    }

    /// Whether the table map carried column names (`binlog_row_metadata=FULL`).
    pub fn has_column_names(&self) -> bool {
        self.has_names
    }

    /// Decodes all row images of a rows event of this table.
    pub fn decode_rows(&self, rows: &RawRows<'_>) -> Result<Vec<RowChange>, DecodeError> {
        let n = self.columns.len();
        if rows.num_columns != n {
            return Err(self.err(format!(
                "the rows event has {} columns but the table map has {n}",
                rows.num_columns
            )));
        }
        for bitmap in [rows.before_columns, rows.after_columns]
            .into_iter()
            .flatten()
        {
            if !all_set(bitmap, n) {
                return Err(self.err(
                    "the rows event carries a partial row image (binlog_row_image is not FULL \
                     for the session that wrote it); set `binlog_row_image=FULL` globally and \
                     make sure no client changes it per session"
                        .to_string(),
                ));
            }
        }
        let mut cur = Cursor {
            buf: rows.rows,
            pos: 0,
        };
        // Row images are roughly equal in size, so the first row tells how many to expect.
        let mut out = Vec::new();
        while !cur.at_end() {
            let start = cur.pos;
            let mut raw_before = Vec::new();
            let mut raw_after = Vec::new();
            let before = match rows.before_columns {
                Some(_) => Some(self.decode_image(&mut cur, &mut raw_before)?),
                None => None,
            };
            let after = match rows.after_columns {
                Some(_) => Some(self.decode_image(&mut cur, &mut raw_after)?),
                None => None,
            };
            if out.is_empty() {
                let per_row = (cur.pos - start).max(1);
                out.reserve(rows.rows.len() / per_row);
            }
            out.push(RowChange {
                before,
                after,
                raw: pair_raw(raw_before, raw_after),
            });
        }
        Ok(out)
    }

    fn err(&self, what: String) -> DecodeError {
        DecodeError::new(format!("`{}`.`{}`: {what}", self.schema, self.table))
    }

    /// Decodes one full row image: the null bitmap, then every non-null value.
    /// The bytes of every character column whose text may hide a raw difference are added to
    /// `raw`.
    fn decode_image(
        &self,
        cur: &mut Cursor<'_>,
        raw: &mut Vec<(usize, Vec<u8>)>,
    ) -> Result<Vec<Value>, DecodeError> {
        let n = self.decoders.len();
        let nulls = cur.take(n.div_ceil(8)).map_err(|e| self.err(e))?;
        let mut row = Vec::with_capacity(n);
        for (i, decoder) in self.decoders.iter().enumerate() {
            if nulls[i >> 3] & (1 << (i & 7)) != 0 {
                row.push(Value::Null);
                continue;
            }
            let start = cur.pos;
            let mut keep_raw = false;
            match decode_value(decoder, cur, &mut keep_raw) {
                Ok(v) => {
                    if keep_raw {
                        raw.push((i, cur.buf[start..cur.pos].to_vec()));
                    }
                    row.push(v)
                }
                Err(e) => {
                    return Err(self.err(format!("column `{}`: {e}", self.columns[i].name)));
                }
            }
        }
        Ok(row)
    }
}

/// The raw columns of a before and an after image, paired by column.
fn pair_raw(before: Vec<(usize, Vec<u8>)>, after: Vec<(usize, Vec<u8>)>) -> Vec<RawText> {
    if before.is_empty() && after.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<RawText> = before
        .into_iter()
        .map(|(column, b)| RawText {
            column,
            before: Some(b),
            after: None,
        })
        .collect();
    for (column, a) in after {
        match out.iter_mut().find(|r| r.column == column) {
            Some(r) => r.after = Some(a),
            None => out.push(RawText {
                column,
                before: None,
                after: Some(a),
            }),
        }
    }
    out
}

fn all_set(bitmap: &[u8], n: usize) -> bool {
    (0..n).all(|i| bitmap.get(i >> 3).is_some_and(|b| b & (1 << (i & 7)) != 0))
}

/// Picks the decoder of one column from its type and table-map metadata.
fn decoder_for(
    t: ColumnType,
    meta: &[u8],
    unsigned: bool,
    charset: Option<u16>,
    labels: Option<Vec<String>>,
) -> Decoder {
    use ColumnType::*;
    let m0 = meta.first().copied().unwrap_or(0);
    let m1 = meta.get(1).copied().unwrap_or(0);
    let text = text_kind(charset);
    match t {
        MYSQL_TYPE_TINY => Decoder::Int { width: 1, unsigned },
        MYSQL_TYPE_SHORT => Decoder::Int { width: 2, unsigned },
        MYSQL_TYPE_INT24 => Decoder::Int { width: 3, unsigned },
        MYSQL_TYPE_LONG => Decoder::Int { width: 4, unsigned },
        MYSQL_TYPE_LONGLONG => Decoder::Int { width: 8, unsigned },
        MYSQL_TYPE_FLOAT => Decoder::Float,
        MYSQL_TYPE_DOUBLE => Decoder::Double,
        MYSQL_TYPE_NEWDECIMAL => Decoder::Decimal {
            precision: m0,
            scale: m1,
        },
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
            let max = u16::from_le_bytes([m0, m1]);
            Decoder::Str {
                len_bytes: if max < 256 { 1 } else { 2 },
                text,
            }
        }
        MYSQL_TYPE_STRING => {
            // CHAR(n) metadata packs the real type and the maximum byte length; lengths above
            // 255 borrow two bits of the type byte (MySQL bug #37426).
            let max = if m0 & 0x30 != 0x30 {
                usize::from(m1) | ((usize::from(m0 & 0x30) ^ 0x30) << 4)
            } else {
                usize::from(m1)
            };
            let len_bytes = if max < 256 { 1 } else { 2 };
            if text == TextCodec::Binary {
                Decoder::FixedBinary {
                    len_bytes,
                    width: max as u16,
                }
            } else {
                Decoder::Str { len_bytes, text }
            }
        }
        MYSQL_TYPE_ENUM => Decoder::Enum {
            width: m1,
            labels: labels.unwrap_or_default(),
        },
        MYSQL_TYPE_SET => Decoder::Set {
            width: m1,
            labels: labels.unwrap_or_default(),
        },
        MYSQL_TYPE_BLOB | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB => {
            Decoder::Blob {
                len_bytes: m0,
                text,
            }
        }
        MYSQL_TYPE_GEOMETRY | MYSQL_TYPE_VECTOR => Decoder::Blob {
            len_bytes: m0,
            text: TextCodec::Binary,
        },
        MYSQL_TYPE_YEAR => Decoder::Year,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Decoder::Date,
        MYSQL_TYPE_DATETIME => Decoder::DateTimeOld,
        MYSQL_TYPE_DATETIME2 => Decoder::DateTime2 { fsp: m0 },
        MYSQL_TYPE_TIMESTAMP => Decoder::TimestampOld,
        MYSQL_TYPE_TIMESTAMP2 => Decoder::Timestamp2 { fsp: m0 },
        MYSQL_TYPE_TIME => Decoder::TimeOld,
        MYSQL_TYPE_TIME2 => Decoder::Time2 { fsp: m0 },
        MYSQL_TYPE_BIT => Decoder::Bit {
            bytes: m1 + u8::from(m0 > 0),
        },
        MYSQL_TYPE_JSON => Decoder::Json,
        MYSQL_TYPE_NULL => Decoder::Null,
        other => Decoder::Unsupported {
            type_code: other as u8,
        },
    }
}

/// A bounds-checked reader over row bytes: truncated input is an error, never a panic.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "the row data ends after {} bytes, {} more were expected",
                    self.buf.len(),
                    n - (self.buf.len() - self.pos.min(self.buf.len()))
                )
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A little-endian unsigned integer of `width` bytes (1..=8).
    #[inline]
    fn le_uint(&mut self, width: usize) -> Result<u64, String> {
        let s = self.take(width)?;
        let mut a = [0u8; 8];
        a[..width].copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    /// A big-endian unsigned integer of `width` bytes (1..=8).
    #[inline]
    fn be_uint(&mut self, width: usize) -> Result<u64, String> {
        let s = self.take(width)?;
        Ok(s.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

/// An unsigned value as `Value`: `Int` when it fits `i64`, `UInt` above.
#[inline]
fn uint_value(u: u64) -> Value {
    Value::from_unsigned(u)
}

/// A `FLOAT` as the `f64` of its shortest round-trip decimal text (what users wrote); the same
/// as [`Value::from_f32`], without its allocation.
fn float_value(f: f32) -> Value {
    if !f.is_finite() {
        return Value::Float(f64::from(f));
    }
    // The shortest text that reads back as the same f32 fits easily in 48 bytes.
    let mut buf = [0u8; 48];
    let mut w = SliceWriter {
        buf: &mut buf,
        len: 0,
    };
    if fmt::Write::write_fmt(&mut w, format_args!("{f:e}")).is_ok() {
        let len = w.len;
        if let Some(v) = std::str::from_utf8(&buf[..len])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
        {
            return Value::Float(v);
        }
    }
    Value::Float(f64::from(f))
}

struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[inline]
fn decode_value(decoder: &Decoder, cur: &mut Cursor<'_>, raw: &mut bool) -> Result<Value, String> {
    Ok(match decoder {
        Decoder::Int { width, unsigned } => {
            let w = usize::from(*width);
            let raw = cur.le_uint(w)?;
            if *unsigned {
                uint_value(raw)
            } else {
                // Sign-extend from the column's width.
                let shift = 64 - 8 * w as u32;
                Value::Int(((raw << shift) as i64) >> shift)
            }
        }
        Decoder::Float => float_value(f32::from_le_bytes(cur.array::<4>()?)),
        Decoder::Double => Value::Float(f64::from_le_bytes(cur.array::<8>()?)),
        Decoder::Decimal { precision, scale } => Value::Decimal(decode_decimal(
            cur,
            usize::from(*precision),
            usize::from(*scale),
        )?),
        Decoder::Str { len_bytes, text } => {
            let len = cur.le_uint(usize::from(*len_bytes))? as usize;
            text_value(*text, cur.take(len)?, raw)
        }
        Decoder::FixedBinary { len_bytes, width } => {
            let len = cur.le_uint(usize::from(*len_bytes))? as usize;
            let mut bytes = cur.take(len)?.to_vec();
            if bytes.len() < usize::from(*width) {
                bytes.resize(usize::from(*width), 0);
            }
            Value::Bytes(bytes)
        }
        Decoder::Blob { len_bytes, text } => {
            if !(1..=4).contains(len_bytes) {
                return Err(format!("unexpected BLOB length size {len_bytes}"));
            }
            let len = cur.le_uint(usize::from(*len_bytes))? as usize;
            text_value(*text, cur.take(len)?, raw)
        }
        Decoder::Enum { width, labels } => {
            if !(1..=2).contains(width) {
                return Err(format!("unexpected ENUM width {width}"));
            }
            let idx = cur.le_uint(usize::from(*width))? as usize;
            if labels.is_empty() {
                // Without ENUM labels in the metadata only the index is known.
                Value::Int(idx as i64)
            } else if idx == 0 {
                // Index 0 is the "invalid value" MySQL shows as the empty string.
                Value::Text(String::new())
            } else {
                match labels.get(idx - 1) {
                    Some(l) => Value::Text(l.clone()),
                    None => return Err(format!("ENUM index {idx} beyond {} labels", labels.len())),
                }
            }
        }
        Decoder::Set { width, labels } => {
            if !(1..=8).contains(width) {
                return Err(format!("unexpected SET width {width}"));
            }
            let bits = cur.le_uint(usize::from(*width))?;
            if labels.is_empty() {
                uint_value(bits)
            } else {
                let mut s = String::new();
                for (i, l) in labels.iter().enumerate().take(64) {
                    if bits & (1 << i) != 0 {
                        if !s.is_empty() {
                            s.push(',');
                        }
                        s.push_str(l);
                    }
                }
                Value::Text(s)
            }
        }
        Decoder::Year => {
            let y = cur.le_uint(1)?;
            Value::Int(if y == 0 { 0 } else { 1900 + y as i64 })
        }
        Decoder::Date => {
            let v = cur.le_uint(3)?;
            Value::Date(Date {
                year: (v >> 9) as u16,
                month: ((v >> 5) & 15) as u8,
                day: (v & 31) as u8,
            })
        }
        Decoder::DateTimeOld => {
            let v = cur.le_uint(8)?;
            let (d, t) = (v / 1_000_000, v % 1_000_000);
            Value::DateTime(DateTime {
                date: Date {
                    year: (d / 10000) as u16,
                    month: (d / 100 % 100) as u8,
                    day: (d % 100) as u8,
                },
                hour: (t / 10000) as u8,
                minute: (t / 100 % 100) as u8,
                second: (t % 100) as u8,
                micros: 0,
            })
        }
        Decoder::DateTime2 { fsp } => {
            let int_part = cur.be_uint(5)? as i64 - 0x80_0000_0000;
            let micros = read_fraction(cur, *fsp)?;
            let ymd = int_part >> 17;
            let ym = ymd >> 5;
            let hms = int_part % (1 << 17);
            Value::DateTime(DateTime {
                date: Date {
                    year: (ym / 13) as u16,
                    month: (ym % 13) as u8,
                    day: (ymd % 32) as u8,
                },
                hour: (hms >> 12) as u8,
                minute: ((hms >> 6) % 64) as u8,
                second: (hms % 64) as u8,
                micros: micros as u32,
            })
        }
        Decoder::TimestampOld => timestamp_value(cur.le_uint(4)?, 0),
        Decoder::Timestamp2 { fsp } => {
            let secs = cur.be_uint(4)?;
            let micros = read_fraction(cur, *fsp)?;
            timestamp_value(secs, micros as u32)
        }
        Decoder::TimeOld => {
            let raw = cur.le_uint(3)?;
            let v = ((raw << 40) as i64) >> 40;
            let a = v.unsigned_abs();
            Value::Time(Time {
                negative: v < 0,
                hours: (a / 10000) as u32,
                minute: (a / 100 % 100) as u8,
                second: (a % 100) as u8,
                micros: 0,
            })
        }
        Decoder::Time2 { fsp } => Value::Time(decode_time2(cur, *fsp)?),
        Decoder::Bit { bytes } => {
            if *bytes > 8 {
                return Err(format!("BIT column of {bytes} bytes"));
            }
            Value::UInt(cur.be_uint(usize::from(*bytes))?)
        }
        Decoder::Json => {
            let len = cur.le_uint(4)? as usize;
            Value::Text(decode_mysql_json(cur.take(len)?)?)
        }
        Decoder::Null => Value::Null,
        Decoder::Unsupported { type_code } => {
            return Err(format!(
                "column type {type_code} is not supported by mee's binlog decoder"
            ));
        }
    })
}

/// Reads the fractional-seconds suffix of DATETIME2/TIMESTAMP2 (big-endian, `(fsp + 1) / 2`
/// bytes) as microseconds.
#[inline]
fn read_fraction(cur: &mut Cursor<'_>, fsp: u8) -> Result<u64, String> {
    Ok(match fsp {
        0 => 0,
        1 | 2 => cur.be_uint(1)? * 10_000,
        3 | 4 => cur.be_uint(2)? * 100,
        5 | 6 => cur.be_uint(3)?,
        other => return Err(format!("fractional precision {other} is out of range")),
    })
}

/// TIME2: a 3-byte signed packed `hour:minute:second` with an offset, then the fraction; negative
/// values borrow from the integer part, which is undone here (MySQL's `my_time_packed_from_binary`).
fn decode_time2(cur: &mut Cursor<'_>, fsp: u8) -> Result<Time, String> {
    const INT_OFS: i64 = 0x80_0000;
    let packed: i64 = match fsp {
        0 => (cur.be_uint(3)? as i64 - INT_OFS) << 24,
        1 | 2 => {
            let mut int_part = cur.be_uint(3)? as i64 - INT_OFS;
            let mut frac = cur.be_uint(1)? as i64;
            if int_part < 0 && frac != 0 {
                int_part += 1;
                frac -= 0x100;
            }
            (int_part << 24) + frac * 10_000
        }
        3 | 4 => {
            let mut int_part = cur.be_uint(3)? as i64 - INT_OFS;
            let mut frac = cur.be_uint(2)? as i64;
            if int_part < 0 && frac != 0 {
                int_part += 1;
                frac -= 0x1_0000;
            }
            (int_part << 24) + frac * 100
        }
        5 | 6 => cur.be_uint(6)? as i64 - 0x8000_0000_0000,
        other => return Err(format!("fractional precision {other} is out of range")),
    };
    let negative = packed < 0;
    let a = packed.unsigned_abs();
    let hms = a >> 24;
    Ok(Time {
        negative,
        hours: ((hms >> 12) % (1 << 10)) as u32,
        minute: ((hms >> 6) % 64) as u8,
        second: (hms % 64) as u8,
        micros: (a % (1 << 24)) as u32,
    })
}

/// A TIMESTAMP's Unix seconds as the UTC date and time; 0 is MySQL's zero timestamp.
fn timestamp_value(secs: u64, micros: u32) -> Value {
    if secs == 0 && micros == 0 {
        return Value::DateTime(DateTime {
            date: Date {
                year: 0,
                month: 0,
                day: 0,
            },
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        });
    }
    Value::DateTime(utc_datetime(secs as i64, micros))
}

/// Converts Unix seconds to a proleptic Gregorian UTC date and time (days-from-civil inverse,
/// after Howard Hinnant's algorithm).
pub(crate) fn utc_datetime(secs: i64, micros: u32) -> DateTime {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    DateTime {
        date: Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        },
        hour: (sod / 3600) as u8,
        minute: (sod / 60 % 60) as u8,
        second: (sod % 60) as u8,
        micros,
    }
}

/// Bytes per number of leftover decimal digits in MySQL's binary DECIMAL (9 digits per 4 bytes).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Decodes MySQL's binary DECIMAL(precision, scale) into its exact text, keeping all `scale`
/// fractional digits (what `SELECT` returns).
fn decode_decimal(cur: &mut Cursor<'_>, precision: usize, scale: usize) -> Result<String, String> {
    if scale > precision || precision > 65 {
        return Err(format!("DECIMAL({precision},{scale}) is out of range"));
    }
    let intg = precision - scale;
    let (intg0, intg0x) = (intg / 9, intg % 9);
    let (frac0, frac0x) = (scale / 9, scale % 9);
    let size = DIG2BYTES[intg0x] + intg0 * 4 + frac0 * 4 + DIG2BYTES[frac0x];
    let raw = cur.take(size)?;
    if raw.is_empty() {
        return Ok("0".to_string());
    }
    // The sign lives in the inverted top bit; negative numbers have every byte inverted.
    let negative = raw[0] & 0x80 == 0;
    let mask: u8 = if negative { 0xff } else { 0 };
    let mut bytes = [0u8; 40];
    for (dst, &src) in bytes.iter_mut().zip(raw) {
        *dst = src ^ mask;
    }
    bytes[0] ^= 0x80;
    let mut at = 0usize;
    let mut group = |len: usize, digits: usize| -> Result<u32, String> {
        let v = bytes[at..at + len]
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        at += len;
        if digits < 9 && u64::from(v) >= 10u64.pow(digits as u32) || v >= 1_000_000_000 {
            return Err("corrupt DECIMAL digits".to_string());
        }
        Ok(v)
    };

    let mut out = String::with_capacity(precision + 3);
    if negative {
        out.push('-');
    }
    // The leading integer group is printed without padding and skipped while it is zero; every
    // later group is zero-padded to its digit count.
    let mut started = false;
    if intg0x > 0 {
        let v = group(DIG2BYTES[intg0x], intg0x)?;
        if v != 0 {
            push_padded(&mut out, v, 0);
            started = true;
        }
    }
    for _ in 0..intg0 {
        let v = group(4, 9)?;
        if started {
            push_padded(&mut out, v, 9);
        } else if v != 0 {
            push_padded(&mut out, v, 0);
            started = true;
        }
    }
    if !started {
        out.push('0');
    }
    if scale > 0 {
        out.push('.');
        for _ in 0..frac0 {
            let v = group(4, 9)?;
            push_padded(&mut out, v, 9);
        }
        if frac0x > 0 {
            let v = group(DIG2BYTES[frac0x], frac0x)?;
            push_padded(&mut out, v, frac0x);
        }
    }
    if negative && out[1..].bytes().all(|b| b == b'0' || b == b'.') {
        // A negative zero does not exist in MySQL; print it as zero.
        out.remove(0);
    }
    Ok(out)
}

/// Appends `v` in decimal, left-padded with zeros to `width` digits (at most 10).
fn push_padded(out: &mut String, v: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut n = v;
    let mut i = digits.len();
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = (digits.len() - i).max(width.min(digits.len()));
    for &d in &digits[digits.len() - len..] {
        out.push(char::from(d));
    }
}

/// MySQL's binary JSON as JSON text (MariaDB never sends it: its JSON is a text column).
fn decode_mysql_json(bytes: &[u8]) -> Result<String, String> {
    use mysql_common::binlog::jsonb;
    use mysql_common::io::ParseBuf;
    if bytes.is_empty() {
        return Ok("null".to_string());
    }
    let value: jsonb::Value<'_> = ParseBuf(bytes)
        .parse(())
        .map_err(|e| format!("bad binary JSON: {e}"))?;
    let json = serde_json::Value::try_from(value).map_err(|e| format!("bad binary JSON: {e}"))?;
    Ok(json.to_string())
}

/// The fixed part of a rows event, parsed without copying: which table, which kind, the
/// column bitmaps and the row bytes.
#[derive(Clone, Copy, Debug)]
pub struct RawRows<'a> {
    pub kind: RowKind,
    pub table_id: u64,
    pub flags: u16,
    pub num_columns: usize,
    /// Columns present in the before image (UPDATE and DELETE).
    pub before_columns: Option<&'a [u8]>,
    /// Columns present in the after image (INSERT and UPDATE).
    pub after_columns: Option<&'a [u8]>,
    /// The row images.
    pub rows: &'a [u8],
}

impl<'a> RawRows<'a> {
    /// Parses the body of a rows event (`type_code` 23-25 or 30-32; `data` without the common
    /// header and checksum). `table_id_len` is 6 on every server since MySQL 5.1 (4 before).
    pub fn parse(type_code: u8, data: &'a [u8], table_id_len: usize) -> Result<Self, DecodeError> {
        let (kind, v2) = RowKind::from_event_type(type_code).ok_or_else(|| {
            DecodeError::new(format!("event type {type_code} is not a rows event"))
        })?;
        let short = |what: &str| DecodeError::new(format!("the rows event is truncated in {what}"));
        let mut cur = Cursor { buf: data, pos: 0 };
        let table_id = cur
            .le_uint(table_id_len)
            .map_err(|_| short("the table id"))?;
        let flags = cur.le_uint(2).map_err(|_| short("the flags"))? as u16;
        if v2 {
            let extra = cur.le_uint(2).map_err(|_| short("the extra data"))? as usize;
            cur.take(extra.saturating_sub(2))
                .map_err(|_| short("the extra data"))?;
        }
        let num_columns = read_lenenc(&mut cur).map_err(|_| short("the column count"))?;
        let num_columns = usize::try_from(num_columns)
            .ok()
            .filter(|&n| n <= 4096)
            .ok_or_else(|| {
                DecodeError::new(format!("the rows event claims {num_columns} columns"))
            })?;
        let bitmap_len = num_columns.div_ceil(8);
        let mut bitmap = || cur_take(&mut cur, bitmap_len).map_err(|_| short("the column bitmap"));
        let (before_columns, after_columns) = match kind {
            RowKind::Insert => (None, Some(bitmap()?)),
            RowKind::Delete => (Some(bitmap()?), None),
            RowKind::Update => {
                let b = bitmap()?;
                (Some(b), Some(bitmap()?))
            }
        };
        Ok(RawRows {
            kind,
            table_id,
            flags,
            num_columns,
            before_columns,
            after_columns,
            rows: &data[cur.pos..],
        })
    }
}

fn cur_take<'a>(cur: &mut Cursor<'a>, n: usize) -> Result<&'a [u8], String> {
    cur.take(n)
}

fn read_lenenc(cur: &mut Cursor<'_>) -> Result<u64, String> {
    Ok(match cur.le_uint(1)? {
        0xfc => cur.le_uint(2)?,
        0xfd => cur.le_uint(3)?,
        0xfe => cur.le_uint(8)?,
        b => b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::binlog::decimal::Decimal;

    /// Encodes decimal text in MySQL's binary DECIMAL(precision, scale) layout.
    fn encode_decimal(text: &str, precision: usize, scale: usize) -> Vec<u8> {
        let negative = text.starts_with('-');
        let digits = text.trim_start_matches('-');
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let intg = precision - scale;
        let int = format!("{int:0>intg$}");
        let frac = format!("{frac:0<scale$}");
        let mut out = Vec::new();
        let mut put = |digits: &str| {
            let len = DIG2BYTES[digits.len()];
            let v: u32 = digits.parse().unwrap_or(0);
            out.extend_from_slice(&v.to_be_bytes()[4 - len..]);
        };
        let lead = intg % 9;
        put(&int[..lead]);
        for g in int.as_bytes()[lead..].chunks(9) {
            put(std::str::from_utf8(g).unwrap());
        }
        for g in frac.as_bytes().chunks(9) {
            put(std::str::from_utf8(g).unwrap());
        }
        out[0] ^= 0x80;
        if negative {
            for b in &mut out {
                *b = !*b;
            }
        }
        out
    }

    fn dec(text: &str, precision: usize, scale: usize) -> String {
        let bin = encode_decimal(text, precision, scale);
        let mut cur = Cursor { buf: &bin, pos: 0 };
        let out = decode_decimal(&mut cur, precision, scale).unwrap();
        assert!(
            cur.at_end(),
            "{text}: {} of {} bytes read",
            cur.pos,
            bin.len()
        );
        out
    }

    #[test]
    fn decimals_decode_to_exact_text() {
        assert_eq!(dec("12.50", 4, 2), "12.50");
        assert_eq!(dec("12.5", 10, 2), "12.50");
        assert_eq!(dec("-12.50", 4, 2), "-12.50");
        assert_eq!(dec("0.01", 3, 2), "0.01");
        assert_eq!(dec("-0.01", 3, 2), "-0.01");
        assert_eq!(dec("0", 5, 2), "0.00");
        assert_eq!(dec("1234567890.123456789", 19, 9), "1234567890.123456789");
        assert_eq!(
            dec(
                "-99999999999999999999999999999999999.999999999999999999999999999999",
                65,
                30
            ),
            "-99999999999999999999999999999999999.999999999999999999999999999999"
        );
        assert_eq!(dec("123", 3, 0), "123");
        assert_eq!(dec("100000000.5", 10, 1), "100000000.5");
        assert_eq!(dec("0.000000001", 10, 9), "0.000000001");
        // A zero leading group must not swallow the zeros of the next full group.
        assert_eq!(dec("1000000001.00", 12, 2), "1000000001.00");
        assert_eq!(dec("5.00", 20, 2), "5.00");
        assert_eq!(dec("1000000000", 20, 0), "1000000000");
    }

    #[test]
    fn decimal_layout_matches_mysql_common() {
        // Cross-check the test encoder against mysql_common's writer where its layout (derived
        // from the text's own digit counts) is the column's.
        for (text, p, s) in [
            ("12.50", 4, 2),
            ("-1234567890.123456789", 19, 9),
            ("7", 1, 0),
        ] {
            let d = Decimal::parse_str_bytes(text.as_bytes()).unwrap();
            let mut bin = Vec::new();
            d.write_bin(&mut bin).unwrap();
            assert_eq!(bin, encode_decimal(text, p, s), "{text}");
        }
    }

    #[test]
    fn unix_seconds_become_utc_datetimes() {
        assert_eq!(utc_datetime(0, 0).to_string(), "1970-01-01T00:00:00");
        assert_eq!(
            utc_datetime(951_782_400, 5).to_string(),
            "2000-02-29T00:00:00.000005"
        );
        assert_eq!(
            utc_datetime(2_147_483_647, 0).to_string(),
            "2038-01-19T03:14:07"
        );
        assert_eq!(
            utc_datetime(1_700_000_000, 0).to_string(),
            "2023-11-14T22:13:20"
        );
    }

    #[test]
    fn time2_decodes_negative_fractions() {
        // -00:00:01.5 with fsp 1 is stored as integer part -2 (the fraction borrowed one) and
        // fraction byte 0x100 - 50.
        let int_part: i64 = 0x80_0000 - 2;
        let frac = 0x100 - 50;
        let bytes = [
            (int_part >> 16) as u8,
            (int_part >> 8) as u8,
            int_part as u8,
            frac as u8,
        ];
        let mut cur = Cursor {
            buf: &bytes,
            pos: 0,
        };
        let t = decode_time2(&mut cur, 1).unwrap();
        assert_eq!(t.to_string(), "-00:00:01.500000");
    }

    #[test]
    fn floats_keep_their_short_decimal_form() {
        assert_eq!(float_value(1.2f32), Value::Float(1.2));
        assert_eq!(float_value(1.234_567_8_f32), Value::Float(1.234_567_8));
        assert_eq!(float_value(-3.0e38f32), Value::Float(-3.0e38));
        for f in [0.1f32, -7.25, 3.402_823_5e38, 1.0e-45, 123_456.79] {
            assert_eq!(float_value(f), Value::from_f32(f), "{f}");
        }
    }

    /// A one-column table whose column is a VARCHAR decoded with `text`.
    fn text_plan(text: TextKind) -> TablePlan {
        TablePlan {
            table_id: 7,
            schema: "s".into(),
            table: "t".into(),
            columns: vec![ColumnInfo {
                name: "c".into(),
                column_type: ColumnType::MYSQL_TYPE_VARCHAR,
                unsigned: false,
                nullable: true,
                charset: None,
                primary_key: false,
            }],
            primary_key: vec![],
            decoders: vec![Decoder::Str { len_bytes: 1, text }],
            has_names: true,
        }
    }

    /// An UPDATE_ROWS_EVENT_V1 of one VARCHAR column from `before` to `after`.
    fn update_event(before: &[u8], after: &[u8]) -> Vec<u8> {
        let mut data = vec![7, 0, 0, 0, 0, 0, 1, 0, 1, 0b1, 0b1];
        for image in [before, after] {
            data.push(0);
            data.push(image.len() as u8);
            data.extend_from_slice(image);
        }
        data
    }

    #[test]
    fn text_that_hides_a_byte_change_is_compared_raw() {
        let utf8 = text_plan(TextCodec::Utf8);
        let changed = |plan: &TablePlan, before: &[u8], after: &[u8]| {
            let data = update_event(before, after);
            let raw = RawRows::parse(24, &data, 6).unwrap();
            let rows = plan.decode_rows(&raw).unwrap();
            (rows[0].before == rows[0].after, rows[0].column_changed(0))
        };
        // Two invalid UTF-8 bytes decode to the same U+FFFD, yet the stored bytes changed.
        assert_eq!(changed(&utf8, b"\xff", b"\xfe"), (true, true));
        assert_eq!(changed(&utf8, b"\xff", b"\xff"), (true, false));
        assert_eq!(changed(&utf8, b"ok", b"\xff"), (false, true));
        assert_eq!(changed(&utf8, b"a", b"a"), (true, false));
        // cp1251 decodes exactly: values tell changes apart, nothing is kept raw.
        let cp1251 = text_plan(TextCodec::of_charset("cp1251").unwrap());
        let data = update_event(b"\xcc\xe8\xf0", b"\xc4\xee\xec");
        let rows = cp1251
            .decode_rows(&RawRows::parse(24, &data, 6).unwrap())
            .unwrap();
        assert_eq!(rows[0].after, Some(vec![Value::Text("Дом".into())]));
        assert!(rows[0].raw.is_empty() && rows[0].column_changed(0));
        // gbk's table is not injective: non-ASCII values are compared raw.
        let gbk = text_plan(TextCodec::of_charset("gbk").unwrap());
        assert_eq!(changed(&gbk, b"\xc4\xe3", b"\xc4\xe3"), (true, false));
        assert_eq!(changed(&gbk, b"\xc4\xe3", b"\xd4\xd9"), (false, true));
    }

    #[test]
    fn rows_header_and_truncated_rows_are_errors_not_panics() {
        // A WRITE_ROWS_EVENT_V1 header: table id 7, flags 1, 2 columns, bitmap 0b11, then one row
        // with an INT and a truncated VARCHAR.
        let mut data = vec![7, 0, 0, 0, 0, 0, 1, 0, 2, 0b11];
        data.extend_from_slice(&[0, 5, 0, 0, 0, 9, b'a']);
        let raw = RawRows::parse(23, &data, 6).unwrap();
        assert_eq!(
            (raw.kind, raw.table_id, raw.num_columns),
            (RowKind::Insert, 7, 2)
        );
        let plan = TablePlan {
            table_id: 7,
            schema: "s".into(),
            table: "t".into(),
            columns: vec![],
            primary_key: vec![],
            decoders: vec![
                Decoder::Int {
                    width: 4,
                    unsigned: false,
                },
                Decoder::Str {
                    len_bytes: 1,
                    text: TextCodec::Utf8,
                },
            ],
            has_names: false,
        };
        let plan = TablePlan {
            columns: (0..2)
                .map(|i| ColumnInfo {
                    name: format!("c{i}"),
                    column_type: ColumnType::MYSQL_TYPE_LONG,
                    unsigned: false,
                    nullable: true,
                    charset: None,
                    primary_key: false,
                })
                .collect(),
            ..plan
        };
        let err = plan.decode_rows(&raw).unwrap_err();
        assert!(err.message().contains("column `c1`"), "{err}");
        for cut in 0..10 {
            assert!(RawRows::parse(23, &data[..cut], 6).is_err(), "cut at {cut}");
        }
    }
}
