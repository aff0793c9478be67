//! Stable diagnostic codes. A code never changes meaning once released; retired codes stay
//! reserved. Ranges: E01xx loading, E02xx handler structure, E03xx placeholders and db_field
//! expressions, E04xx schema and columns, E05xx SQL statements, E06xx the dependency graph,
//! E07xx types and mappings, E08xx build wiring (features, files). Warnings use W + the same ranges.

/// A diagnostic code such as `E0403`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        $($(#[$doc])* pub const $name: Code = Code($code);)*
        /// Every code, for uniqueness checks and `mee check --explain`.
        pub const ALL: &[(&str, Code)] = &[$((stringify!($name), $name)),*];
    };
}

codes! {
    // ---- E01xx: loading files ----
    /// A pipeline, included or schema file cannot be read.
    FILE_UNREADABLE = "E0101";
    /// The YAML text does not parse.
    YAML_SYNTAX = "E0102";
    /// An included `.json` file does not parse.
    JSON_SYNTAX = "E0103";
    /// A YAML tag other than `!include`.
    UNKNOWN_TAG = "E0104";
    /// A file includes itself, directly or through others.
    INCLUDE_CYCLE = "E0105";
    /// An alias (`*name`) names no anchor defined before it.
    UNDEFINED_ALIAS = "E0106";
    /// A YAML value that cannot be stored as JSON (e.g. a non-string mapping key).
    UNREPRESENTABLE_VALUE = "E0107";

    // ---- E02xx: handler structure ----
    /// A value has the wrong YAML kind (mapping, sequence, string, ...).
    WRONG_KIND = "E0201";
    /// A required key is missing.
    MISSING_KEY = "E0202";
    /// An unknown key that looks like a misspelling of a known one.
    UNKNOWN_KEY = "E0203";
    /// The same key twice in one YAML mapping.
    DUPLICATE_YAML_KEY = "E0204";
    /// A mapping entry that is neither a string nor a mapping.
    BAD_MAPPING_ENTRY = "E0205";
    /// `es_field` is not an identifier (`^[_a-zA-Z][A-Za-z0-9_]*$`).
    BAD_ES_FIELD = "E0206";
    /// Two items of one list share a `key`, or a key is empty.
    DUPLICATE_ITEM_KEY = "E0207";
    /// More than one item of a list has `document_id`.
    DUPLICATE_MASTER = "E0208";
    /// No item of a list has `document_id`.
    MISSING_MASTER = "E0209";
    /// A non-master item (or an item of a nested list) without `query` that cannot be derived.
    MISSING_QUERY = "E0210";
    /// `routing` on an item other than the top-level master.
    ROUTING_NOT_ALLOWED = "E0211";
    /// `parent_query` on an item other than a nested master.
    PARENT_QUERY_NOT_ALLOWED = "E0212";
    /// A nested list inside a nested list.
    NESTED_TOO_DEEP = "E0213";
    /// Two nested entries of one list with the same `es_field`.
    DUPLICATE_NESTED_FIELD = "E0214";
    /// Two mapping entries of one document write the same `es_field`.
    DUPLICATE_ES_FIELD = "E0215";
    /// `eval_on_deleted` is not a boolean.
    BAD_BOOL = "E0216";
    /// A nested master without `parent_query` where none can be derived.
    MISSING_PARENT_QUERY = "E0217";
    /// An index alias with no type, or a type with no items.
    EMPTY_LIST = "E0218";
    /// An index alias or type name that Elasticsearch does not accept.
    BAD_INDEX_NAME = "E0219";
    /// Keys that set the same thing twice, e.g. `field` together with `db_field` or `es_field`.
    CONFLICTING_KEYS = "E0220";

    // ---- E03xx: placeholders and db_field expressions ----
    /// A placeholder default that is not a literal (`%s.x:(abc)`).
    BAD_LITERAL = "E0301";
    /// A placeholder names an item key that does not exist in its list.
    UNKNOWN_ITEM_KEY = "E0302";
    /// `document_id`, `routing`, `query` or `parent_query` reads another item's row.
    ANCHOR_DEPENDS_ON_OTHER = "E0303";
    /// `%__last` outside a master statement.
    LAST_NOT_ALLOWED = "E0304";
    /// `%__parent` outside a nested master statement.
    PARENT_NOT_ALLOWED = "E0305";
    /// A statement depends on more than one other item.
    TOO_MANY_DEPENDENCIES = "E0306";
    /// The items' dependencies form a cycle.
    DEPENDENCY_CYCLE = "E0307";
    /// A top-level master statement without `%__last.<pk>` paging.
    MISSING_PAGING = "E0308";
    /// A db_field expression that does not parse.
    BAD_EXPRESSION = "E0309";
    /// A db_field call to an unknown function.
    UNKNOWN_FUNCTION = "E0310";
    /// A db_field call with the wrong number of arguments.
    WRONG_ARITY = "E0311";
    /// `echo(...)` whose argument is not a literal.
    ECHO_NOT_LITERAL = "E0312";
    /// A `filter` condition that cannot be evaluated (unknown operator, wrong shape).
    BAD_FILTER = "E0314";
    /// A `filter`, `query` or `parent_query` written by the author disagrees with the statement.
    DISAGREES_WITH_STATEMENT = "E0315";

    // ---- E04xx: schema and columns ----
    /// A `database` with no `pipelines/schema/<database>.sql`.
    UNKNOWN_DATABASE = "E0401";
    /// A `table` not declared in its database's DDL.
    UNKNOWN_TABLE = "E0402";
    /// A column that the table does not have.
    UNKNOWN_COLUMN = "E0403";
    /// A schema `.sql` file that does not parse.
    DDL_SYNTAX = "E0404";
    /// A table without a primary key where one is needed.
    MISSING_PRIMARY_KEY = "E0405";
    /// A column type mee cannot read.
    UNSUPPORTED_COLUMN_TYPE = "E0406";
    /// A composite primary key where paging needs a single column.
    COMPOSITE_PRIMARY_KEY = "E0407";

    // ---- E05xx: SQL statements ----
    /// A statement that sqlparser cannot parse.
    SQL_SYNTAX = "E0501";
    /// A statement that is not one plain `SELECT`.
    NOT_A_SELECT = "E0502";
    /// A statement ending with a `LIMIT` clause.
    TRAILING_LIMIT = "E0503";
    /// The statement reads a different table than the item's `table`.
    WRONG_TABLE = "E0504";
    /// A placeholder where SQL cannot take a parameter (identifier, keyword).
    PLACEHOLDER_NOT_A_VALUE = "E0507";
    /// The SQL of an `executeSQL` call is invalid or its `%s` count differs from its arguments.
    BAD_EXECUTE_SQL = "E0508";

    // ---- E06xx: the dependency graph ----
    /// An item whose rows cannot be related to the master's documents.
    UNREACHABLE_ITEM = "E0601";
    /// The compiler cannot work out which documents a row change affects.
    NO_REVERSE_PATH = "E0602";

    // ---- E07xx: types ----
    /// An arithmetic function or a sign over a non-numeric column.
    NOT_NUMERIC = "E0701";
    /// `yesterday(...)` over a column that is not a date or text.
    NOT_A_DATE = "E0702";
    /// A nullable column where a value is required (e.g. `document_id`).
    NULLABLE_NOT_ALLOWED = "E0703";

    // ---- E08xx: build wiring ----
    /// A pipeline file without its cargo feature.
    MISSING_FEATURE = "E0801";
    /// A `pipeline-NAME` feature without `pipelines/NAME.yml`.
    MISSING_PIPELINE_FILE = "E0802";
    /// A pipeline file name that is not a valid pipeline name.
    BAD_PIPELINE_NAME = "E0803";

    // ---- warnings ----
    /// An unknown key far from every known key; ignored as Mee does.
    IGNORED_KEY = "W0201";
    /// The statement has no `ORDER BY` where the row order matters.
    UNORDERED_STATEMENT = "W0501";
    /// `executeSQL` reads tables whose changes mee does not follow.
    UNTRACKED_TABLE = "W0601";
    /// A `null_value` whose JSON type differs from the field's type.
    NULL_VALUE_TYPE_MISMATCH = "W0701";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for (name, code) in ALL {
            assert!(
                seen.insert(code.as_str()),
                "code {} reused by {name}",
                code.as_str()
            );
            let s = code.as_str();
            assert!(
                s.len() == 5 && (s.starts_with('E') || s.starts_with('W')),
                "{s}"
            );
        }
    }
}
