//! Times as people read them.

use leptos::prelude::*;

/// A moment, shown in UTC by the server and then, once the page is interactive, in the
/// reader's own time zone and format. The machine-readable value is in `datetime`.
#[component]
pub fn LocalTime(millis: i64) -> impl IntoView {
    let text = RwSignal::new(format_utc(millis));
    Effect::new(move |_| {
        if let Some(local) = local_format(millis) {
            text.set(local);
        }
    });
    view! { <time datetime=iso_utc(millis)>{move || text.get()}</time> }
}

fn local_format(millis: i64) -> Option<String> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into()).ok()?;
    js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into()).ok()?;
    date.to_locale_string("default", &options).as_string()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "3 Dec 2026, 17:44 UTC".
pub fn format_utc(millis: i64) -> String {
    let (year, month, day, hour, minute, _) = civil(millis);
    let month = MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)];
    format!("{day} {month} {year}, {hour:02}:{minute:02} UTC")
}

/// "2026-12-03T17:44:05Z".
pub fn iso_utc(millis: i64) -> String {
    let (year, month, day, hour, minute, second) = civil(millis);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// Splits a Unix time into the proleptic Gregorian calendar date and time of day (UTC),
/// with the days-to-civil conversion of the "chrono-compatible low-level date algorithms".
fn civil(millis: i64) -> (i64, i64, i64, i64, i64, i64) {
    let seconds = millis.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_become_calendar_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_796_319_845_000), "3 Dec 2026, 17:44 UTC");
    }
}
