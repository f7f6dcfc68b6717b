//! How an error is told in one line: its causes after it, line breaks
//! folded. A leaf module: the libraries' errors and the binary's all use it.

/// An error and its causes on one line, `error: cause: cause`, with any line
/// breaks inside them folded into spaces.
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // `transparent` variants repeat their source's text.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    fold(&text)
}

/// `text` with its line breaks and runs of spaces folded into single spaces.
pub fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
