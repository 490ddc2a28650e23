//! The one look every message shares, so feature code supplies words, not markup.
//!
//! A [`Letter`] is a heading, a few paragraphs and at most one button. It renders to a plain
//! text part and to an HTML part built from nested tables and inline styles, which is what
//! the common mail clients (Outlook included) lay out the same way; no images, no external
//! stylesheets, nothing that needs to be fetched. Every piece of text is escaped, so a
//! person's name or an organisation name can never become markup.

use super::{Email, PRODUCT_NAME};

/// A call to action: a link styled as a button, with the address repeated as text for
/// clients that hide buttons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    /// An absolute `https://` or `http://` link built from the public URL (E4). Anything
    /// else is shown as plain text and never becomes a link.
    pub url: String,
}

/// The content of one message. Build it, then turn it into an [`Email`] with
/// [`Letter::into_email`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Letter {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub button: Option<Button>,
}

impl Letter {
    pub fn new(heading: impl Into<String>) -> Self {
        Letter {
            heading: heading.into(),
            ..Letter::default()
        }
    }

    pub fn paragraph(mut self, text: impl Into<String>) -> Self {
        self.paragraphs.push(text.into());
        self
    }

    pub fn button(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.button = Some(Button {
            label: label.into(),
            url: url.into(),
        });
        self
    }

    /// The message to `to`, ready for [`super::enqueue`].
    pub fn into_email(self, to: impl Into<String>, subject: impl Into<String>) -> Email {
        Email {
            to: to.into(),
            subject: subject.into(),
            text: self.text(),
            html: self.html(),
        }
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.heading);
        out.push_str("\n\n");
        for paragraph in &self.paragraphs {
            out.push_str(paragraph);
            out.push_str("\n\n");
        }
        if let Some(button) = &self.button {
            out.push_str(&button.label);
            out.push_str(":\n");
            out.push_str(&button.url);
            out.push_str("\n\n");
        }
        out.push_str("-- \n");
        out.push_str(FOOTER);
        out.push('\n');
        out
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        let heading = escape_html(&self.heading);
        let mut body = format!(
            "<h1 style=\"margin:0 0 16px;font-size:20px;line-height:28px;\
             font-weight:600;color:#111827;\">{heading}</h1>\n"
        );
        for paragraph in &self.paragraphs {
            body.push_str(&format!(
                "<p style=\"margin:0 0 16px;font-size:15px;line-height:24px;\
                 color:#374151;\">{}</p>\n",
                escape_html(paragraph)
            ));
        }
        if let Some(button) = &self.button {
            body.push_str(&button_html(button));
        }

        format!(
            "<!DOCTYPE html>\n\
             <html lang=\"en\">\n\
             <head>\n\
             <meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{heading}</title>\n\
             </head>\n\
             <body style=\"margin:0;padding:0;background-color:#f3f4f6;\">\n\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
             border=\"0\" style=\"background-color:#f3f4f6;\">\n\
             <tr><td align=\"center\" style=\"padding:32px 16px;\">\n\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
             border=\"0\" style=\"max-width:560px;background-color:#ffffff;border-radius:8px;\
             font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\">\n\
             <tr><td style=\"padding:24px 32px 0;font-size:14px;font-weight:700;\
             color:#1d4ed8;\">{PRODUCT_NAME}</td></tr>\n\
             <tr><td style=\"padding:16px 32px 16px;\">\n\
             {body}\
             </td></tr>\n\
             <tr><td style=\"padding:16px 32px 24px;border-top:1px solid #e5e7eb;\
             font-size:12px;line-height:18px;color:#6b7280;\">{footer}</td></tr>\n\
             </table>\n\
             </td></tr>\n\
             </table>\n\
             </body>\n\
             </html>\n",
            footer = escape_html(FOOTER),
        )
    }
}

const FOOTER: &str = "You are receiving this message because of activity on your ImportOps \
                      account. If it was not you, change your password and review your \
                      sessions under Settings > Account.";

fn button_html(button: &Button) -> String {
    let label = escape_html(&button.label);
    let url = escape_html(&button.url);
    if !is_web_link(&button.url) {
        return format!(
            "<p style=\"margin:0 0 16px;font-size:15px;line-height:24px;\
             color:#374151;\">{label}: {url}</p>\n"
        );
    }
    format!(
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
         style=\"margin:8px 0 24px;\">\n\
         <tr><td style=\"border-radius:6px;background-color:#1d4ed8;\">\
         <a href=\"{url}\" style=\"display:inline-block;padding:12px 24px;font-size:15px;\
         font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;\">{label}</a>\
         </td></tr>\n\
         </table>\n\
         <p style=\"margin:0 0 16px;font-size:13px;line-height:20px;color:#6b7280;\">\
         If the button does not work, copy this address into your browser:<br>\
         <a href=\"{url}\" style=\"color:#1d4ed8;word-break:break-all;\">{url}</a></p>\n"
    )
}

/// Only absolute web links become `href`s: no `javascript:`, `data:` or relative links.
fn is_web_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<b>"Tom" & 'Jerry'</b>"#),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        assert_eq!(escape_html("plain text, é ü"), "plain text, é ü");
    }

    #[test]
    fn interpolated_text_never_becomes_markup() {
        let letter = Letter::new("Hello <script>alert(1)</script>")
            .paragraph("Your organisation \"A&B <Imports>\" changed.")
            .button("Open <now>", "https://example.com/x?a=1&b=\"2\"");
        let html = letter.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;A&amp;B &lt;Imports&gt;&quot;"));
        assert!(html.contains("Open &lt;now&gt;"));
        assert!(html.contains("href=\"https://example.com/x?a=1&amp;b=&quot;2&quot;\""));
    }

    #[test]
    fn only_web_links_become_buttons() {
        for url in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "https://x.example/a b",
        ] {
            let html = Letter::new("Hi").button("Go", url).html();
            assert!(!html.contains("href="), "{url}: {html}");
            assert!(html.contains(&escape_html(url)), "{url} is still shown");
        }
        let html = Letter::new("Hi")
            .button("Go", "https://x.example/confirm")
            .html();
        assert_eq!(
            html.matches("href=\"https://x.example/confirm\"").count(),
            2
        );
    }

    #[test]
    fn text_part_has_every_piece_in_order() {
        let letter = Letter::new("Confirm your new address")
            .paragraph("Someone asked to use this address.")
            .paragraph("The link works for 24 hours.")
            .button("Confirm the change", "https://x.example/c/abc");
        let text = letter.text();
        let order = [
            "Confirm your new address",
            "Someone asked",
            "The link works",
            "Confirm the change:\nhttps://x.example/c/abc",
            "ImportOps account",
        ];
        let mut from = 0;
        for piece in order {
            let at = text[from..].find(piece).expect(piece) + from;
            from = at + piece.len();
        }
    }

    #[test]
    fn letters_become_emails_with_both_parts() {
        let email = Letter::new("Hi")
            .paragraph("Body")
            .into_email("ana@example.com", "Subject");
        assert_eq!(email.to, "ana@example.com");
        assert_eq!(email.subject, "Subject");
        assert!(email.text.starts_with("Hi\n\nBody\n\n"));
        assert!(email.html.contains("<p style="));
        assert!(email.html.contains(PRODUCT_NAME));
    }
}
