//! MySQL character sets: how the raw bytes of a character column, as the binlog carries them,
//! become the text a `SELECT` in a utf8mb4 session returns for the same column.
//!
//! The binlog carries character columns in their own charset (the table map names each column's
//! collation when `binlog_row_metadata=FULL`); a `SELECT` gets them converted by the server to
//! the connection's utf8mb4. [`TextCodec`] does the server's conversion on the binlog side:
//! MySQL's `latin1` is Windows-1252 (with the five undefined bytes as the C1 controls, as the
//! WHATWG table has them), `cp1251` Windows-1251, `gbk` GBK, `big5` Big5, and so on; the
//! charsets it has no faithful table for are refused at start-up ([`TextCodec::of_charset`],
//! checked by `preflight` for every used column), never decoded approximately.
//!
//! Decoding is not always injective (invalid bytes become U+FFFD; some CJK tables map two byte
//! sequences to one character), so a decoded value may not tell two raw values apart:
//! [`TextCodec::decode`] says when the raw bytes must be kept for comparison.

use encoding_rs::Encoding;

/// How the bytes of one character column become text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextCodec {
    /// The `binary` charset: bytes stay bytes.
    Binary,
    /// `utf8mb3`/`utf8mb4` (and `ascii`, a subset).
    Utf8,
    /// `utf32`: four bytes per character, big-endian.
    Utf32,
    /// A table from encoding_rs; `injective` when distinct valid byte strings always decode to
    /// distinct text (single-byte tables, UTF-16), false for the CJK tables.
    Table {
        encoding: &'static Encoding,
        injective: bool,
    },
}

/// Text decoded from a column's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// The text may be equal for different bytes (some bytes did not decode exactly, or the
    /// charset's table is not injective): compare such values by their raw bytes.
    pub keep_raw: bool,
}

impl TextCodec {
    /// The codec of a MySQL/MariaDB character set name, or why mee cannot decode it.
    pub fn of_charset(name: &str) -> Result<TextCodec, String> {
        let table = |encoding, injective| {
            Ok(TextCodec::Table {
                encoding,
                injective,
            })
        };
        use encoding_rs as e;
        match name {
            "binary" => Ok(TextCodec::Binary),
            "utf8mb4" | "utf8mb3" | "utf8" | "ascii" => Ok(TextCodec::Utf8),
            "utf32" => Ok(TextCodec::Utf32),
            "ucs2" | "utf16" => table(e::UTF_16BE, true),
            "utf16le" => table(e::UTF_16LE, true),
            // MySQL's latin1 is cp1252, its five undefined bytes mapped to U+0081.. like WHATWG.
            "latin1" => table(e::WINDOWS_1252, true),
            "latin2" => table(e::ISO_8859_2, true),
            "latin7" => table(e::ISO_8859_13, true),
            "greek" => table(e::ISO_8859_7, true),
            "hebrew" => table(e::ISO_8859_8, true),
            "cp1250" => table(e::WINDOWS_1250, true),
            "cp1251" => table(e::WINDOWS_1251, true),
            "cp1256" => table(e::WINDOWS_1256, true),
            "cp1257" => table(e::WINDOWS_1257, true),
            "cp866" => table(e::IBM866, true),
            "koi8r" => table(e::KOI8_R, true),
            "koi8u" => table(e::KOI8_U, true),
            "macroman" => table(e::MACINTOSH, true),
            "gbk" | "gb2312" => table(e::GBK, false),
            "big5" => table(e::BIG5, false),
            "sjis" | "cp932" => table(e::SHIFT_JIS, false),
            "ujis" | "eucjpms" => table(e::EUC_JP, false),
            "euckr" => table(e::EUC_KR, false),
            other => Err(format!(
                "mee has no decoding table for the `{other}` character set that matches MySQL's; \
                 convert the column to utf8mb4 (`ALTER TABLE ... CONVERT TO CHARACTER SET \
                 utf8mb4`) or leave it out of the pipeline"
            )),
        }
    }

    /// The codec of a collation id as the table map gives it; `None` for an id mee does not
    /// know (start-up refuses such columns, see `preflight`).
    pub fn of_collation(id: u16) -> Option<TextCodec> {
        charset_of_collation(id).and_then(|name| TextCodec::of_charset(name).ok())
    }

    /// Decodes a column's bytes as the server converts them to utf8mb4 (`None` for `Binary`).
    pub fn decode(self, bytes: &[u8]) -> Option<Decoded> {
        Some(match self {
            TextCodec::Binary => return None,
            TextCodec::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => Decoded {
                    text: s.to_owned(),
                    keep_raw: false,
                },
                Err(_) => Decoded {
                    text: String::from_utf8_lossy(bytes).into_owned(),
                    keep_raw: true,
                },
            },
            TextCodec::Utf32 => {
                let mut lossy = !bytes.len().is_multiple_of(4);
                let text = bytes
                    .chunks(4)
                    .map(|c| {
                        let mut a = [0u8; 4];
                        a[4 - c.len()..].copy_from_slice(c);
                        char::from_u32(u32::from_be_bytes(a)).unwrap_or_else(|| {
                            lossy = true;
                            char::REPLACEMENT_CHARACTER
                        })
                    })
                    .collect();
                Decoded {
                    text,
                    keep_raw: lossy,
                }
            }
            TextCodec::Table {
                encoding,
                injective,
            } => {
                let (text, lossy) = encoding.decode_without_bom_handling(bytes);
                Decoded {
                    keep_raw: lossy || (!injective && !bytes.is_ascii()),
                    text: text.into_owned(),
                }
            }
        })
    }
}

/// The character set of a collation id (MariaDB 10.11's `information_schema.COLLATIONS`; ids
/// below 256 are MySQL's too).
pub fn charset_of_collation(id: u16) -> Option<&'static str> {
    COLLATIONS
        .binary_search_by_key(&id, |&(i, _)| i)
        .ok()
        .map(|i| COLLATIONS[i].1)
}

/// `(collation id, character set)`, sorted by id.
const COLLATIONS: &[(u16, &str)] = &[
    (1, "big5"),
    (2, "latin2"),
    (3, "dec8"),
    (4, "cp850"),
    (5, "latin1"),
    (6, "hp8"),
    (7, "koi8r"),
    (8, "latin1"),
    (9, "latin2"),
    (10, "swe7"),
    (11, "ascii"),
    (12, "ujis"),
    (13, "sjis"),
    (14, "cp1251"),
    (15, "latin1"),
    (16, "hebrew"),
    (18, "tis620"),
    (19, "euckr"),
    (20, "latin7"),
    (21, "latin2"),
    (22, "koi8u"),
    (23, "cp1251"),
    (24, "gb2312"),
    (25, "greek"),
    (26, "cp1250"),
    (27, "latin2"),
    (28, "gbk"),
    (29, "cp1257"),
    (30, "latin5"),
    (31, "latin1"),
    (32, "armscii8"),
    (33, "utf8mb3"),
    (34, "cp1250"),
    (35, "ucs2"),
    (36, "cp866"),
    (37, "keybcs2"),
    (38, "macce"),
    (39, "macroman"),
    (40, "cp852"),
    (41, "latin7"),
    (42, "latin7"),
    (43, "macce"),
    (44, "cp1250"),
    (45, "utf8mb4"),
    (46, "utf8mb4"),
    (47, "latin1"),
    (48, "latin1"),
    (49, "latin1"),
    (50, "cp1251"),
    (51, "cp1251"),
    (52, "cp1251"),
    (53, "macroman"),
    (54, "utf16"),
    (55, "utf16"),
    (56, "utf16le"),
    (57, "cp1256"),
    (58, "cp1257"),
    (59, "cp1257"),
    (60, "utf32"),
    (61, "utf32"),
    (62, "utf16le"),
    (63, "binary"),
    (64, "armscii8"),
    (65, "ascii"),
    (66, "cp1250"),
    (67, "cp1256"),
    (68, "cp866"),
    (69, "dec8"),
    (70, "greek"),
    (71, "hebrew"),
    (72, "hp8"),
    (73, "keybcs2"),
    (74, "koi8r"),
    (75, "koi8u"),
    (77, "latin2"),
    (78, "latin5"),
    (79, "latin7"),
    (80, "cp850"),
    (81, "cp852"),
    (82, "swe7"),
    (83, "utf8mb3"),
    (84, "big5"),
    (85, "euckr"),
    (86, "gb2312"),
    (87, "gbk"),
    (88, "sjis"),
    (89, "tis620"),
    (90, "ucs2"),
    (91, "ujis"),
    (92, "geostd8"),
    (93, "geostd8"),
    (94, "latin1"),
    (95, "cp932"),
    (96, "cp932"),
    (97, "eucjpms"),
    (98, "eucjpms"),
    (99, "cp1250"),
    (101, "utf16"),
    (102, "utf16"),
    (103, "utf16"),
    (104, "utf16"),
    (105, "utf16"),
    (106, "utf16"),
    (107, "utf16"),
    (108, "utf16"),
    (109, "utf16"),
    (110, "utf16"),
    (111, "utf16"),
    (112, "utf16"),
    (113, "utf16"),
    (114, "utf16"),
    (115, "utf16"),
    (116, "utf16"),
    (117, "utf16"),
    (118, "utf16"),
    (119, "utf16"),
    (120, "utf16"),
    (121, "utf16"),
    (122, "utf16"),
    (123, "utf16"),
    (124, "utf16"),
    (128, "ucs2"),
    (129, "ucs2"),
    (130, "ucs2"),
    (131, "ucs2"),
    (132, "ucs2"),
    (133, "ucs2"),
    (134, "ucs2"),
    (135, "ucs2"),
    (136, "ucs2"),
    (137, "ucs2"),
    (138, "ucs2"),
    (139, "ucs2"),
    (140, "ucs2"),
    (141, "ucs2"),
    (142, "ucs2"),
    (143, "ucs2"),
    (144, "ucs2"),
    (145, "ucs2"),
    (146, "ucs2"),
    (147, "ucs2"),
    (148, "ucs2"),
    (149, "ucs2"),
    (150, "ucs2"),
    (151, "ucs2"),
    (159, "ucs2"),
    (160, "utf32"),
    (161, "utf32"),
    (162, "utf32"),
    (163, "utf32"),
    (164, "utf32"),
    (165, "utf32"),
    (166, "utf32"),
    (167, "utf32"),
    (168, "utf32"),
    (169, "utf32"),
    (170, "utf32"),
    (171, "utf32"),
    (172, "utf32"),
    (173, "utf32"),
    (174, "utf32"),
    (175, "utf32"),
    (176, "utf32"),
    (177, "utf32"),
    (178, "utf32"),
    (179, "utf32"),
    (180, "utf32"),
    (181, "utf32"),
    (182, "utf32"),
    (183, "utf32"),
    (192, "utf8mb3"),
    (193, "utf8mb3"),
    (194, "utf8mb3"),
    (195, "utf8mb3"),
    (196, "utf8mb3"),
    (197, "utf8mb3"),
    (198, "utf8mb3"),
    (199, "utf8mb3"),
    (200, "utf8mb3"),
    (201, "utf8mb3"),
    (202, "utf8mb3"),
    (203, "utf8mb3"),
    (204, "utf8mb3"),
    (205, "utf8mb3"),
    (206, "utf8mb3"),
    (207, "utf8mb3"),
    (208, "utf8mb3"),
    (209, "utf8mb3"),
    (210, "utf8mb3"),
    (211, "utf8mb3"),
    (212, "utf8mb3"),
    (213, "utf8mb3"),
    (214, "utf8mb3"),
    (215, "utf8mb3"),
    (223, "utf8mb3"),
    (224, "utf8mb4"),
    (225, "utf8mb4"),
    (226, "utf8mb4"),
    (227, "utf8mb4"),
    (228, "utf8mb4"),
    (229, "utf8mb4"),
    (230, "utf8mb4"),
    (231, "utf8mb4"),
    (232, "utf8mb4"),
    (233, "utf8mb4"),
    (234, "utf8mb4"),
    (235, "utf8mb4"),
    (236, "utf8mb4"),
    (237, "utf8mb4"),
    (238, "utf8mb4"),
    (239, "utf8mb4"),
    (240, "utf8mb4"),
    (241, "utf8mb4"),
    (242, "utf8mb4"),
    (243, "utf8mb4"),
    (244, "utf8mb4"),
    (245, "utf8mb4"),
    (246, "utf8mb4"),
    (247, "utf8mb4"),
    (576, "utf8mb3"),
    (577, "utf8mb3"),
    (578, "utf8mb3"),
    (608, "utf8mb4"),
    (609, "utf8mb4"),
    (610, "utf8mb4"),
    (640, "ucs2"),
    (641, "ucs2"),
    (642, "ucs2"),
    (672, "utf16"),
    (673, "utf16"),
    (674, "utf16"),
    (736, "utf32"),
    (737, "utf32"),
    (738, "utf32"),
    (1025, "big5"),
    (1027, "dec8"),
    (1028, "cp850"),
    (1030, "hp8"),
    (1031, "koi8r"),
    (1032, "latin1"),
    (1033, "latin2"),
    (1034, "swe7"),
    (1035, "ascii"),
    (1036, "ujis"),
    (1037, "sjis"),
    (1040, "hebrew"),
    (1042, "tis620"),
    (1043, "euckr"),
    (1046, "koi8u"),
    (1048, "gb2312"),
    (1049, "greek"),
    (1050, "cp1250"),
    (1052, "gbk"),
    (1054, "latin5"),
    (1056, "armscii8"),
    (1057, "utf8mb3"),
    (1059, "ucs2"),
    (1060, "cp866"),
    (1061, "keybcs2"),
    (1062, "macce"),
    (1063, "macroman"),
    (1064, "cp852"),
    (1065, "latin7"),
    (1067, "macce"),
    (1069, "utf8mb4"),
    (1070, "utf8mb4"),
    (1071, "latin1"),
    (1074, "cp1251"),
    (1075, "cp1251"),
    (1077, "macroman"),
    (1078, "utf16"),
    (1079, "utf16"),
    (1080, "utf16le"),
    (1081, "cp1256"),
    (1082, "cp1257"),
    (1083, "cp1257"),
    (1084, "utf32"),
    (1085, "utf32"),
    (1086, "utf16le"),
    (1088, "armscii8"),
    (1089, "ascii"),
    (1090, "cp1250"),
    (1091, "cp1256"),
    (1092, "cp866"),
    (1093, "dec8"),
    (1094, "greek"),
    (1095, "hebrew"),
    (1096, "hp8"),
    (1097, "keybcs2"),
    (1098, "koi8r"),
    (1099, "koi8u"),
    (1101, "latin2"),
    (1102, "latin5"),
    (1103, "latin7"),
    (1104, "cp850"),
    (1105, "cp852"),
    (1106, "swe7"),
    (1107, "utf8mb3"),
    (1108, "big5"),
    (1109, "euckr"),
    (1110, "gb2312"),
    (1111, "gbk"),
    (1112, "sjis"),
    (1113, "tis620"),
    (1114, "ucs2"),
    (1115, "ujis"),
    (1116, "geostd8"),
    (1117, "geostd8"),
    (1119, "cp932"),
    (1120, "cp932"),
    (1121, "eucjpms"),
    (1122, "eucjpms"),
    (1125, "utf16"),
    (1147, "utf16"),
    (1152, "ucs2"),
    (1174, "ucs2"),
    (1184, "utf32"),
    (1206, "utf32"),
    (1216, "utf8mb3"),
    (1238, "utf8mb3"),
    (1248, "utf8mb4"),
    (1270, "utf8mb4"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(charset: &str, bytes: &[u8]) -> Decoded {
        TextCodec::of_charset(charset)
            .expect("a known charset")
            .decode(bytes)
            .expect("text")
    }

    #[test]
    fn collation_ids_name_their_charsets() {
        assert!(COLLATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(charset_of_collation(8), Some("latin1"));
        assert_eq!(charset_of_collation(45), Some("utf8mb4"));
        assert_eq!(charset_of_collation(51), Some("cp1251"));
        assert_eq!(charset_of_collation(28), Some("gbk"));
        assert_eq!(charset_of_collation(1), Some("big5"));
        assert_eq!(charset_of_collation(63), Some("binary"));
        assert_eq!(charset_of_collation(9999), None);
        assert_eq!(TextCodec::of_collation(63), Some(TextCodec::Binary));
    }

    #[test]
    fn texts_decode_as_mysql_converts_them() {
        // latin1 is cp1252: 0x80 is the euro sign, 0x81 the C1 control U+0081.
        let latin1 = decode("latin1", b"\x80 caf\xe9 \x81");
        assert_eq!(latin1.text, "\u{20ac} caf\u{e9} \u{81}");
        assert!(!latin1.keep_raw);
        assert_eq!(decode("cp1251", b"\xcf\xf0\xe8\xe2\xe5\xf2").text, "Привет");
        assert_eq!(decode("gbk", b"\xc4\xe3\xba\xc3").text, "你好");
        assert_eq!(decode("big5", b"\xa4\xa4\xa4\xe5").text, "中文");
        assert_eq!(decode("ucs2", b"\x00A\x04\x1f").text, "AП");
        assert_eq!(decode("utf32", b"\x00\x01\xf6\x00").text, "😀");
        assert_eq!(decode("utf8mb4", "ü".as_bytes()).text, "ü");
    }

    #[test]
    fn undecodable_or_ambiguous_bytes_keep_their_raw_form() {
        assert!(decode("utf8mb4", b"\xff").keep_raw);
        assert!(
            decode("gbk", b"\xc4\xe3").keep_raw,
            "CJK tables are not injective"
        );
        assert!(!decode("gbk", b"plain").keep_raw);
        assert!(decode("utf32", b"\x00\x11\x00\x00").keep_raw);
        assert_eq!(TextCodec::of_charset("binary"), Ok(TextCodec::Binary));
        assert!(TextCodec::Binary.decode(b"x").is_none());
        let err = TextCodec::of_charset("swe7").unwrap_err();
        assert!(err.contains("`swe7`") && err.contains("utf8mb4"), "{err}");
    }
}
