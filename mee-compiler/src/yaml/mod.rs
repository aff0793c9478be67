//! Spanned YAML: files -> a node tree where every value keeps its file, line and column.
