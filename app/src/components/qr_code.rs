//! A QR code drawn as inline SVG, for adding an account to an authenticator app.
//!
//! The `qrcode` crate encodes; the drawing is ours: one `<path>` of dark modules over a
//! light square, in module units, so it scales to any size without blurring. Being a pure
//! function of the URI, it renders the same on the server and during hydration.
//!
//! The page's CSP forbids inline styles, so everything visual is an SVG attribute and the
//! size comes from the `qr-code` class in the stylesheet. Colours are fixed black on white
//! in both themes: scanners expect dark modules on a light ground, and not all read the
//! inverse.

use leptos::{either::Either, prelude::*};
use qrcode::{Color, EcLevel};
use std::fmt::Write as _;

/// Light modules around the code; the QR specification asks for four.
const QUIET_ZONE: usize = 4;

/// The QR code of an `otpauth://` URI, with the URI also in `data-otpauth` for tests.
///
/// `label` is what a screen reader announces, such as "QR code for your authenticator app";
/// say next to it how to enter the key by hand, for whoever cannot scan.
#[component]
pub fn QrCode(
    #[prop(into)] uri: Signal<String>,
    #[prop(into)] label: Signal<String>,
) -> impl IntoView {
    move || {
        let uri = uri.get();
        match QrDrawing::of(&uri) {
            Some(drawing) => Either::Left(view! {
                <svg
                    class="qr-code"
                    role="img"
                    aria-label=label
                    data-otpauth=uri
                    viewBox=drawing.view_box
                    shape-rendering="crispEdges"
                >
                    <rect width=drawing.side height=drawing.side fill="#fff"></rect>
                    <path d=drawing.path fill="#000"></path>
                </svg>
            }),
            // Only a URI far longer than any otpauth URI gets here; the key shown beside
            // the code still works.
            None => Either::Right(view! {
                <p class="qr-code-missing" data-otpauth=uri>
                    "This code can't be shown as a QR code. Enter the key by hand instead."
                </p>
            }),
        }
    }
}

/// What the `<svg>` needs: its coordinate system and the path of the dark modules.
struct QrDrawing {
    side: usize,
    view_box: String,
    path: String,
}

impl QrDrawing {
    /// Error correction level M (15 % of the code may be damaged), the common choice for
    /// screens. `None` if the text is too long for any QR code.
    fn of(text: &str) -> Option<QrDrawing> {
        let code = qrcode::QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
        let width = code.width();
        let modules = code.to_colors();
        let side = width + 2 * QUIET_ZONE;

        // Each run of dark modules in a row becomes one rectangle: far fewer path commands
        // than one square per module, and no hairline seams between neighbours.
        let mut path = String::with_capacity(width * width);
        for (y, row) in modules.chunks(width).enumerate() {
            let mut x = 0;
            while x < width {
                if row[x] == Color::Light {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < width && row[x] == Color::Dark {
                    x += 1;
                }
                // Writing into a `String` cannot fail.
                let _ = write!(
                    path,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                );
            }
        }

        Some(QrDrawing {
            side,
            view_box: format!("0 0 {side} {side}"),
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/ImportOps:ana@example.com\
                       ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ImportOps\
                       &algorithm=SHA1&digits=6&period=30";

    /// Reads the drawing back into a grid of dark modules.
    fn modules_drawn(drawing: &QrDrawing, side: usize) -> Vec<Vec<bool>> {
        let mut grid = vec![vec![false; side]; side];
        for command in drawing.path.split('z').filter(|c| !c.is_empty()) {
            let numbers: Vec<usize> = command
                .trim_start_matches('M')
                .split(['h', 'v', ' '])
                .filter_map(|n| n.trim_start_matches('-').parse().ok())
                .collect();
            let [x, y, run, 1, _] = numbers[..] else {
                panic!("unexpected command {command}");
            };
            for cell in &mut grid[y][x..x + run] {
                assert!(!*cell, "runs never overlap");
                *cell = true;
            }
        }
        grid
    }

    #[test]
    fn the_drawing_is_the_code_with_a_quiet_zone() {
        let code = qrcode::QrCode::with_error_correction_level(URI, EcLevel::M).unwrap();
        let width = code.width();
        let side = width + 8;
        let drawing = QrDrawing::of(URI).unwrap();
        assert_eq!(drawing.view_box, format!("0 0 {side} {side}"));

        let grid = modules_drawn(&drawing, side);
        let colours = code.to_colors();
        for (y, row) in grid.iter().enumerate() {
            for (x, &dark) in row.iter().enumerate() {
                let inside = (4..4 + width).contains(&x) && (4..4 + width).contains(&y);
                let expected = inside && colours[(y - 4) * width + (x - 4)] == Color::Dark;
                assert_eq!(dark, expected, "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn the_drawing_is_deterministic() {
        let first = QrDrawing::of(URI).unwrap();
        let second = QrDrawing::of(URI).unwrap();
        assert_eq!(first.path, second.path);
        assert_eq!(first.view_box, second.view_box);
    }

    #[test]
    fn text_too_long_for_a_qr_code_is_not_drawn() {
        assert!(QrDrawing::of(&"x".repeat(4_000)).is_none());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn renders_an_accessible_svg_without_inline_styles() {
        let html = Owner::new().with(|| {
            view! { <QrCode uri=URI label="QR code for your authenticator app"/> }.to_html()
        });
        assert!(html.starts_with("<svg "), "{html}");
        assert!(html.contains(" class=\"qr-code\""));
        assert!(html.contains(" role=\"img\""));
        assert!(html.contains("aria-label=\"QR code for your authenticator app\""));
        assert!(html.contains("data-otpauth=\"otpauth://totp/ImportOps:ana@example.com?"));
        assert!(
            html.contains("&amp;issuer=ImportOps&amp;"),
            "attribute values are escaped"
        );
        assert!(html.contains("shape-rendering=\"crispEdges\""));
        assert!(!html.contains("style"));
    }
}
