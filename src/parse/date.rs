//! Dates as real feeds write them → UTC.
//!
//! [`parse_date`] replaces feed-rs's own timestamp parser, so it reads
//! everything feed-rs reads plus what feeds emit in the wild. Two readers
//! share one tokenizer:
//! - a year-first reader for ISO 8601 / RFC 3339 / W3DTF and their local
//!   cousins (`2024-04-17 10:03:49`, `2024/04/17 10:03`, `2024年4月17日`,
//!   Hungarian `2024. április 17., szerda 10:03` and `2024.04.17. 10:03`);
//! - a word reader for RFC 822/2822 and its relatives (asctime, Unix `date`,
//!   JavaScript's `Date.toString()`), which takes day, month, year, time and
//!   zone in whatever order they come and ignores the weekday.
//!
//! Both are hand-rolled: no regex, one small allocation per call, and no
//! input can make them panic. Anything they do not recognise is `None`
//! rather than a guess.
//!
//! Zone names are read as RFC 822 and common use say, except "CST", which
//! depends on the feed ([`Cst`]): US Central, or China Standard Time in a
//! feed whose zone or language is Chinese ([`parse_date_in`]).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Longer strings are not dates; the cap bounds the work done on junk.
const MAX_LEN: usize = 256;

/// Parses a feed date. Times without a zone are read in `tz`; a date without
/// a time is midnight in `tz` (or in its own zone, when it has one). "CST"
/// is read as [`Cst::for_feed`] says for a feed in `tz`.
pub fn parse_date(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    parse_date_in(s, tz, Cst::for_feed(tz, None))
}

/// [`parse_date`], with what "CST" means given.
pub fn parse_date_in(s: &str, tz: Tz, cst: Cst) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_LEN {
        return None;
    }
    if s.contains(is_thai) {
        return parse_date_in(&thai(s)?, tz, cst);
    }
    // `Etc/GMT`, a tz database name for GMT.
    if let Some(rest) = s
        .strip_suffix("Etc/GMT")
        .or_else(|| s.strip_suffix("Etc/UTC"))
    {
        return parse_date_in(&format!("{rest}GMT"), tz, cst);
    }
    year_first(s, cst)
        .and_then(|f| f.to_utc(tz))
        .or_else(|| interpret(&tokenize(s)?, Fields::default(), cst)?.to_utc(tz))
}

/// What a feed means by the zone name "CST". RFC 822 says US Central
/// Standard Time (-06:00), and so do most feeds; Chinese outlets mean China
/// Standard Time (+08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cst {
    #[default]
    UsCentral,
    China,
}

impl Cst {
    /// China Standard Time for a feed whose zone is China's (or Taiwan's,
    /// or Hong Kong's, where CST is written for +08:00 too) or whose
    /// language is Chinese (`zh`, `zh-CN`, `zh-Hant-TW`...); else US
    /// Central, as RFC 822 says.
    pub fn for_feed(tz: Tz, language: Option<&str>) -> Cst {
        use chrono_tz::Asia;
        let chinese = language.is_some_and(|l| {
            let l = l.trim();
            let primary = l.split(['-', '_']).next().unwrap_or(l);
            primary.eq_ignore_ascii_case("zh")
        });
        // The zones that write +08:00 as CST, and their aliases.
        let china = matches!(
            tz,
            Asia::Shanghai
                | Asia::Chongqing
                | Asia::Chungking
                | Asia::Harbin
                | Asia::Taipei
                | Asia::Hong_Kong
                | Asia::Macau
                | chrono_tz::PRC
                | chrono_tz::ROC
                | chrono_tz::Hongkong
        );
        if chinese || china {
            Cst::China
        } else {
            Cst::UsCentral
        }
    }

    /// The offset of "CST" in minutes.
    fn minutes(self) -> i32 {
        match self {
            Cst::UsCentral => -360,
            Cst::China => 480,
        }
    }
}

fn is_thai(c: char) -> bool {
    ('\u{0E00}'..='\u{0E7F}').contains(&c)
}

/// Thai month names, full and abbreviated, in the order they are tried.
const THAI_MONTHS: [(&str, &str); 24] = [
    ("มกราคม", "Jan"),
    ("กุมภาพันธ์", "Feb"),
    ("มีนาคม", "Mar"),
    ("เมษายน", "Apr"),
    ("พฤษภาคม", "May"),
    ("มิถุนายน", "Jun"),
    ("กรกฎาคม", "Jul"),
    ("สิงหาคม", "Aug"),
    ("กันยายน", "Sep"),
    ("ตุลาคม", "Oct"),
    ("พฤศจิกายน", "Nov"),
    ("ธันวาคม", "Dec"),
    ("ม.ค.", "Jan"),
    ("ก.พ.", "Feb"),
    ("มี.ค.", "Mar"),
    ("เม.ย.", "Apr"),
    ("พ.ค.", "May"),
    ("มิ.ย.", "Jun"),
    ("ก.ค.", "Jul"),
    ("ส.ค.", "Aug"),
    ("ก.ย.", "Sep"),
    ("ต.ค.", "Oct"),
    ("พ.ย.", "Nov"),
    ("ธ.ค.", "Dec"),
];

/// A Thai date (`พฤ., 03 พ.ย. 2005 21:24:18 +0000`, `17 เมษายน 2567`) in
/// English words: the month named, the weekday (any other Thai word)
/// dropped, and a Buddhist-era year (2400 and later) made Common Era.
/// `None` without a Thai month.
fn thai(s: &str) -> Option<String> {
    let (at, name, month) = THAI_MONTHS
        .iter()
        .filter_map(|(name, month)| s.find(name).map(|at| (at, *name, *month)))
        .min_by_key(|(at, _, _)| *at)?;
    let mut out = String::with_capacity(s.len());
    let push_latin = |part: &str, out: &mut String| {
        // What is left of Thai (a weekday, `วันที่`, `น.` for o'clock) goes.
        let mut skipping = false;
        for c in part.chars() {
            if is_thai(c) {
                skipping = true;
            } else if skipping && c == '.' {
            } else {
                skipping = false;
                out.push(c);
            }
        }
    };
    push_latin(&s[..at], &mut out);
    out.push(' ');
    out.push_str(month);
    out.push(' ');
    push_latin(&s[at + name.len()..], &mut out);
    // Buddhist era: 543 years ahead of the Common Era.
    let words: Vec<String> = out
        .split(' ')
        .map(|w| match w.parse::<u32>() {
            Ok(y) if w.len() == 4 && y >= 2400 => (y - 543).to_string(),
            _ => w.to_string(),
        })
        .collect();
    Some(words.join(" "))
}

/// What has been read so far.
#[derive(Debug, Default, Clone, Copy)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    /// Hour, minute, second, nanosecond.
    time: Option<(u32, u32, u32, u32)>,
    /// A numeric offset from UTC in seconds (`+0800`, or `GMT+8`).
    offset: Option<i32>,
    /// The offset of a zone name (`EST`), used when no numeric one is given.
    named: Option<i32>,
    /// `Some(true)` for PM, `Some(false)` for AM.
    pm: Option<bool>,
}

impl Fields {
    fn to_utc(self, tz: Tz) -> Option<DateTime<Utc>> {
        let date = NaiveDate::from_ymd_opt(self.year?, self.month?, self.day?)?;
        let (mut hour, minute, second, nano) = self.time.unwrap_or_default();
        match self.pm {
            Some(true) if (1..12).contains(&hour) => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
        // Java's `kk` pattern writes the first hour of a day as 24 (of that
        // same day); feed-rs reads it that way too.
        if hour == 24 {
            hour = 0;
        }
        // A leap second is kept within its minute; past it, no time.
        if second > 60 {
            return None;
        }
        let second = second.min(59);
        let naive = date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?);
        match self.offset.or(self.named) {
            Some(offset) if offset.abs() < 24 * 3600 => {
                let utc = naive.checked_sub_signed(TimeDelta::seconds(offset.into()))?;
                Some(utc.and_utc())
            }
            Some(_) => None,
            None => in_zone(naive, tz),
        }
    }
}

/// Reads a wall-clock time in `tz`. A time that occurs twice (the hour
/// after clocks go back) is the earlier instant; a time that does not occur
/// (skipped when clocks go forward) is read with the offset in force before
/// the jump, so 02:30 on a spring-forward night means 03:30 new time.
fn in_zone(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    if let Some(local) = tz.from_local_datetime(&naive).earliest() {
        return Some(local.with_timezone(&Utc));
    }
    // A day back (read as UTC, hence give or take 14 hours) is before the
    // jump and after any earlier one: zones do not change twice in a day.
    let before = tz
        .offset_from_utc_datetime(&naive.checked_sub_signed(TimeDelta::days(1))?)
        .fix();
    let utc = naive.checked_sub_signed(TimeDelta::seconds(before.local_minus_utc().into()))?;
    Some(utc.and_utc())
}

/// Reads dates that start with a four-digit year: ISO 8601 extended and
/// basic forms, `YYYY/MM/DD`, `YYYY.MM.DD`, `YYYY-MM` (W3DTF), and the
/// Chinese, Japanese and Korean `YYYY年M月D日 H時M分`. What follows the
/// time (a zone, AM/PM) goes through the word reader.
fn year_first(s: &str, cst: Cst) -> Option<Fields> {
    let mut c = Cursor(skip_leading_weekday(s));
    let year = c.number(4, 4)?;
    let mut f = Fields {
        year: Some(i32::try_from(year).ok()?),
        ..Fields::default()
    };
    if c.0.is_empty() && s.len() == 4 {
        // W3DTF allows a year alone.
        (f.month, f.day) = (Some(1), Some(1));
        return Some(f);
    }
    let cjk = c.eat_spaced(&["年", "년"]);
    if cjk {
        c.skip_space();
        f.month = Some(c.number(1, 2)?);
        if !c.eat_spaced(&["月", "월"]) {
            return None;
        }
        c.skip_space();
        f.day = Some(c.number(1, 2)?);
        c.eat_spaced(&["日", "일"]);
    } else if let Some(sep) = c.eat_char(&['-', '/', '.']) {
        // Hungarian (and Korean) dates end each part with a dot, and may
        // put a space after it: `2024.04.17.`, `2024. 04. 17.`, and name
        // the month: `2024. április 17.`, `2024. ápr. 17.`, or
        // `2004-július-13` (as feedparser reads them).
        let dotted = sep == '.';
        if dotted {
            c.skip_space();
        }
        if sep != '/'
            && let Some(month) = c.month_word()
        {
            f.month = Some(month);
            if dotted {
                c.eat_char(&['.']);
                c.skip_space();
            } else {
                c.eat_char(&[sep])?;
            }
            f.day = Some(c.number(1, 2)?);
        } else {
            f.month = Some(c.padded()?);
            if sep == '-' && c.0.is_empty() {
                f.day = Some(1);
                return Some(f);
            }
            c.eat_char(&[sep])?;
            if dotted {
                c.skip_space();
            }
            f.day = Some(c.padded()?);
        }
        if dotted {
            c.eat_char(&['.']);
        }
    } else {
        // ISO 8601 basic: 20240417.
        f.month = Some(c.number(2, 2)?);
        f.day = Some(c.number(2, 2)?);
    }

    let after_date = c.0.len();
    if c.eat_char(&['T', 't']).is_none() {
        c.skip_space();
        c.eat_char(&[',']);
        c.skip_space();
    }
    skip_cjk_weekday(&mut c);
    skip_weekday(&mut c);
    if let Some(pm) = c.eat_meridiem() {
        f.pm = Some(pm);
        c.skip_space();
    }
    if c.0.is_empty() {
        return Some(f);
    }
    if c.0.len() == after_date && !cjk {
        // `2024-04-1710:03` is not a date.
        return None;
    }
    let hour_start = c.0;
    let hour = c.number(1, 2)?;
    let (minute, second) = if c.eat_char(&[':']).is_some() {
        let minute = c.number(1, 2)?;
        let second = if c.eat_char(&[':']).is_some() {
            c.number(1, 2)?
        } else {
            0
        };
        (minute, second)
    } else if c.eat_any(&["时", "時", "点", "點", "시"]) {
        c.skip_space();
        let minute = c.number(1, 2).unwrap_or(0);
        c.eat_any(&["分", "분"]);
        c.skip_space();
        let second = match c.number(1, 2) {
            Some(second) => {
                c.eat_any(&["秒", "초"]);
                second
            }
            None => 0,
        };
        (minute, second)
    } else if hour_start.len() - c.0.len() == 2 {
        // ISO 8601 basic: T100349.
        let minute = c.number(2, 2)?;
        (minute, c.number(2, 2).unwrap_or(0))
    } else {
        return None;
    };
    let nano = if c.eat_char(&['.', ',']).is_some() {
        c.fraction()?
    } else {
        0
    };
    f.time = Some((hour, minute, second, nano));
    interpret(&tokenize(c.0)?, f, cst)
}

/// Skips a weekday before a year-first date (`Fri, 2006/09/15`): an English
/// weekday name, or any word but a month followed by a comma.
fn skip_leading_weekday(s: &str) -> &str {
    let word_end = s.find(|c: char| !c.is_alphabetic()).unwrap_or(s.len());
    let (word, rest) = s.split_at(word_end);
    if word.is_empty() || month(word).is_some() || !(is_weekday(word) || rest.starts_with(',')) {
        return s;
    }
    let rest = rest.trim_start_matches(',').trim_start();
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        rest
    } else {
        s
    }
}

/// Skips `(水)`, `（三）`, `星期三` or `周三` between a CJK date and its time.
fn skip_cjk_weekday(c: &mut Cursor) {
    for (open, close) in [("(", ")"), ("（", "）")] {
        if let Some(rest) = c.0.strip_prefix(open)
            && let Some(end) = rest.find(close)
            && rest[..end].chars().count() <= 3
        {
            c.0 = rest[end + close.len()..].trim_start();
            return;
        }
    }
    for prefix in ["星期", "周", "週"] {
        if let Some(rest) = c.0.strip_prefix(prefix) {
            let mut chars = rest.chars();
            chars.next();
            c.0 = chars.as_str().trim_start();
            return;
        }
    }
}

/// Skips a weekday written after the date (`2024. április 17., szerda
/// 10:03`), with the comma after it.
fn skip_weekday(c: &mut Cursor) {
    let end = c.0.find(|c: char| !c.is_alphabetic()).unwrap_or(c.0.len());
    if end > 0 && is_weekday(&c.0[..end]) {
        c.0 = c.0[end..].trim_start();
        c.eat_char(&[',']);
        c.skip_space();
    }
}

/// A reading position in a string.
struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    /// Takes `min..=max` ASCII digits.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let len = self
            .0
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if len < min {
            return None;
        }
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        digits.parse().ok()
    }

    /// A month or day of one or two digits, or three with a leading zero
    /// (Google once wrote `2003-012-31`).
    fn padded(&mut self) -> Option<u32> {
        let b = self.0.as_bytes();
        if b.len() >= 3 && b[0] == b'0' && b[..3].iter().all(u8::is_ascii_digit) {
            return self.number(3, 3);
        }
        self.number(1, 2)
    }

    /// Takes the digits of a decimal fraction of a second, as nanoseconds.
    fn fraction(&mut self) -> Option<u32> {
        let len = self.0.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(nanos(digits))
    }

    fn eat_char(&mut self, options: &[char]) -> Option<char> {
        let c = self.0.chars().next().filter(|c| options.contains(c))?;
        self.0 = &self.0[c.len_utf8()..];
        Some(c)
    }

    fn eat_any(&mut self, options: &[&str]) -> bool {
        for option in options {
            if let Some(rest) = self.0.strip_prefix(option) {
                self.0 = rest;
                return true;
            }
        }
        false
    }

    /// Like [`Cursor::eat_any`], allowing blank space before the option.
    fn eat_spaced(&mut self, options: &[&str]) -> bool {
        let before = self.0;
        self.skip_space();
        let found = self.eat_any(options);
        if !found {
            self.0 = before;
        }
        found
    }

    fn eat_meridiem(&mut self) -> Option<bool> {
        let end = self
            .0
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(self.0.len());
        let word = &self.0[..end];
        // Hungarian `de.` (délelőtt) and `du.` (délután), only here: in
        // the word reader `de` is Spanish, Portuguese and French for "of".
        let pm = match (word, self.0[end..].starts_with('.')) {
            ("de", true) => false,
            ("du", true) => true,
            _ => meridiem(word)?,
        };
        self.0 = &self.0[end..];
        if matches!(word, "de" | "du") {
            self.0 = &self.0[1..];
        }
        Some(pm)
    }

    /// Takes a month's name (or abbreviation) in any language [`month`]
    /// knows.
    fn month_word(&mut self) -> Option<u32> {
        let end = self
            .0
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(self.0.len());
        let month = month(&self.0[..end])?;
        self.0 = &self.0[end..];
        Some(month)
    }

    fn skip_space(&mut self) {
        self.0 = self.0.trim_start();
    }
}

/// The nanoseconds of a fraction's digits (`"5"` → 500 000 000); digits past
/// the ninth are dropped.
fn nanos(digits: &str) -> u32 {
    digits
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0') % 10))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Num(&'a str),
    Word(&'a str),
    Sym(char),
}

/// Splits a date into numbers, words and the signs that matter (`: + - . /`).
/// Blank space and commas only separate; `(comments)` are dropped. `None` for
/// any other character, which no date holds.
fn tokenize(s: &str) -> Option<Vec<Tok<'_>>> {
    let mut tokens = Vec::with_capacity(16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() || c == ',' {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '(' {
            rest = rest.find(')').map_or("", |end| &rest[end + 1..]);
            continue;
        }
        let len = if c.is_ascii_digit() {
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len())
        } else if c.is_alphabetic() {
            rest.find(|c: char| !c.is_alphabetic())
                .unwrap_or(rest.len())
        } else if matches!(c, ':' | '+' | '-' | '.' | '/') {
            1
        } else {
            return None;
        };
        let (token, tail) = rest.split_at(len);
        tokens.push(if c.is_ascii_digit() {
            Tok::Num(token)
        } else if c.is_alphabetic() {
            Tok::Word(token)
        } else {
            Tok::Sym(c)
        });
        rest = tail;
    }
    Some(tokens)
}

/// Reads tokens into `f`, in any order: weekday (ignored), month name, day,
/// year, `H:MM[:SS[.frac]]`, zone name, numeric offset, AM/PM. `None` when a
/// token fits nowhere.
fn interpret(tokens: &[Tok], mut f: Fields, cst: Cst) -> Option<Fields> {
    let mut i = 0;
    // Whether the month came from the first word, which may have been a
    // weekday in another language (French `mar` for mardi).
    let mut month_first = false;
    while let Some(&token) = tokens.get(i) {
        i += 1;
        match token {
            Tok::Word(w) => {
                if (f.month.is_none() || month_first)
                    && let Some(m) = month(w)
                {
                    month_first = i == 1;
                    f.month = Some(m);
                } else if w.eq_ignore_ascii_case("at") && f.time.is_none() {
                    // `April 17, 2024 at 10:03`; after a time, AT is Atlantic.
                } else if let Some(pm) = meridiem(w) {
                    f.pm = Some(pm);
                } else if let Some(pm) = dotted_meridiem(w, tokens.get(i..i + 2)) {
                    f.pm = Some(pm);
                    i += 2;
                } else if let Some(offset) = zone(w, cst) {
                    f.named = Some(offset);
                    // `GMT+8`, `UTC-05:00`: an offset from the named zone.
                    if let Some(&Tok::Sym(sign @ ('+' | '-'))) = tokens.get(i) {
                        let (delta, used) = numeric_offset(&tokens[i + 1..], true)?;
                        f.offset = Some(offset + if sign == '-' { -delta } else { delta });
                        i += 1 + used;
                    }
                } else if is_weekday(w)
                    // 1st, 2nd, 3rd, 17th
                    || (["st", "nd", "rd", "th"].iter().any(|s| w.eq_ignore_ascii_case(s))
                        && matches!(tokens.get(i.wrapping_sub(2)), Some(Tok::Num(_))))
                    // A weekday in another language (`mer, 16 nov 2022`).
                    || (i == 1 && f.year.is_none())
                {
                } else {
                    return None;
                }
            }
            Tok::Num(n) => {
                if tokens.get(i) == Some(&Tok::Sym(':')) && f.time.is_none() {
                    if n.len() == 4 && f.year.is_none() {
                        // `17/Apr/2024:10:03:49 +0000` (web server logs).
                        f.year = Some(n.parse().ok()?);
                        continue;
                    }
                    let (time, used) = clock(&tokens[i - 1..])?;
                    f.time = Some(time);
                    i += used - 1;
                    continue;
                }
                if f.day.is_none()
                    && f.month.is_none()
                    && let Some((day, month, year)) = dotted_date(&tokens[i - 1..])
                {
                    // 17.04.2024, as written across Europe.
                    (f.day, f.month, f.year) = (Some(day), Some(month), Some(year));
                    i += 4;
                    continue;
                }
                let value: u32 = if n.len() <= 9 {
                    n.parse().ok()?
                } else {
                    return None;
                };
                if n.len() <= 2 && f.day.is_none() {
                    f.day = Some(value);
                } else if n.len() <= 4 && f.year.is_none() {
                    f.year = Some(full_year(value, n.len()));
                } else {
                    return None;
                }
            }
            Tok::Sym(sign @ ('+' | '-')) if f.time.is_some() && f.offset.is_none() => {
                // An offset: `+0800`, `-05:00`, and (last in the string) `+08`.
                let rest = &tokens[i..];
                let Some((delta, used)) = numeric_offset(rest, rest.len() == 1) else {
                    // A separator, as in `10:03 - 17 Apr 2024`.
                    continue;
                };
                f.offset = Some(if sign == '-' { -delta } else { delta });
                i += used;
            }
            Tok::Sym(_) => {}
        }
    }
    Some(f)
}

/// Reads `H:MM[:SS[.frac]]` at the start of `tokens`: the time and the
/// number of tokens used.
fn clock(tokens: &[Tok]) -> Option<((u32, u32, u32, u32), usize)> {
    let num = |i: usize, max_len: usize| match tokens.get(i) {
        Some(Tok::Num(n)) if n.len() <= max_len => n.parse::<u32>().ok(),
        _ => None,
    };
    let hour = num(0, 2)?;
    let minute = num(2, 2)?;
    let mut used = 3;
    let mut second = 0;
    let mut nano = 0;
    if tokens.get(3) == Some(&Tok::Sym(':'))
        && let Some(s) = num(4, 2)
    {
        second = s;
        used = 5;
        if tokens.get(5) == Some(&Tok::Sym('.'))
            && let Some(Tok::Num(digits)) = tokens.get(6)
        {
            nano = nanos(digits);
            used = 7;
        }
    }
    Some(((hour, minute, second, nano), used))
}

/// Reads the digits of an offset after its sign: `HHMM`, `HMM`, `HH:MM`,
/// and `H`/`HH` alone when `bare_hours` allows it. Offset in seconds and
/// tokens used.
fn numeric_offset(tokens: &[Tok], bare_hours: bool) -> Option<(i32, usize)> {
    let Some(Tok::Num(n)) = tokens.first() else {
        return None;
    };
    let value: i32 = if n.len() <= 4 {
        n.parse().ok()?
    } else {
        return None;
    };
    let (hours, minutes, used) = match n.len() {
        3 | 4 => (value / 100, value % 100, 1),
        1 | 2 => match (tokens.get(1), tokens.get(2)) {
            (Some(Tok::Sym(':')), Some(Tok::Num(m))) if m.len() == 2 => (value, m.parse().ok()?, 3),
            _ if bare_hours => (value, 0, 1),
            _ => return None,
        },
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(((hours * 60 + minutes) * 60, used))
}

/// Reads `D.M.YYYY` (or `D.M.YY`) at the start of `tokens`.
fn dotted_date(tokens: &[Tok]) -> Option<(u32, u32, i32)> {
    match tokens.get(..5)? {
        [
            Tok::Num(d),
            Tok::Sym('.'),
            Tok::Num(m),
            Tok::Sym('.'),
            Tok::Num(y),
        ] if d.len() <= 2 && m.len() <= 2 && matches!(y.len(), 2 | 4) => Some((
            d.parse().ok()?,
            m.parse().ok()?,
            full_year(y.parse().ok()?, y.len()),
        )),
        _ => None,
    }
}

/// RFC 2822 §4.3: a two-digit year below 50 is 20xx, else 19xx; a
/// three-digit year is counted from 1900.
fn full_year(value: u32, digits: usize) -> i32 {
    let value = i32::try_from(value).unwrap_or(i32::MAX);
    match digits {
        1 | 2 if value < 50 => 2000 + value,
        1..=3 => 1900 + value,
        _ => value,
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Whether `word` is at least three letters and begins `full`, ignoring
/// case: `Sep`, `Sept`, `september`.
fn abbreviates(word: &str, full: &str) -> bool {
    word.len() >= 3
        && full.len() >= word.len()
        && full.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
}

/// Month abbreviations of other languages that differ from English ones
/// (Portuguese, Spanish, French, German, Italian, Dutch, Greek), matched
/// whole.
const FOREIGN_MONTHS: &[(&str, u32)] = &[
    ("ene", 1),
    ("gen", 1),
    ("janv", 1),
    ("fev", 2),
    ("fév", 2),
    ("févr", 2),
    ("mär", 3),
    ("mrz", 3),
    ("mrt", 3),
    ("abr", 4),
    ("avr", 4),
    ("mai", 5),
    ("mag", 5),
    ("mei", 5),
    ("juin", 6),
    ("giu", 6),
    ("juil", 7),
    ("lug", 7),
    ("ago", 8),
    ("août", 8),
    ("set", 9),
    ("out", 10),
    ("okt", 10),
    ("ott", 10),
    ("dez", 12),
    ("dic", 12),
    ("déc", 12),
    // Greek.
    ("ιαν", 1),
    ("φεβ", 2),
    ("μάρ", 3),
    ("μαρ", 3),
    ("απρ", 4),
    ("μάι", 5),
    ("μαΐ", 5),
    ("μαι", 5),
    ("ιούν", 6),
    ("ιουν", 6),
    ("ιούλ", 7),
    ("ιουλ", 7),
    ("αύγ", 8),
    ("αυγ", 8),
    ("σεπ", 9),
    ("οκτ", 10),
    ("νοέ", 11),
    ("νοε", 11),
    ("δεκ", 12),
];

/// Hungarian month names; their abbreviations (`márc`, `ápr`, `szept`)
/// are their first three letters or more.
const HUNGARIAN_MONTHS: [&str; 12] = [
    "január",
    "február",
    "március",
    "április",
    "május",
    "június",
    "július",
    "augusztus",
    "szeptember",
    "október",
    "november",
    "december",
];

/// Hungarian weekday names, which a Hungarian date may carry after the day.
const HUNGARIAN_WEEKDAYS: [&str; 7] = [
    "hétfő",
    "kedd",
    "szerda",
    "csütörtök",
    "péntek",
    "szombat",
    "vasárnap",
];

fn month(word: &str) -> Option<u32> {
    if let Some(index) = MONTHS.iter().position(|full| abbreviates(word, full)) {
        return u32::try_from(index + 1).ok();
    }
    let lower = word.to_lowercase();
    if lower.chars().count() >= 3
        && let Some(index) = HUNGARIAN_MONTHS
            .iter()
            .position(|full| full.starts_with(&lower))
    {
        return u32::try_from(index + 1).ok();
    }
    if word.chars().count() > 4 {
        return None;
    }
    FOREIGN_MONTHS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|&(_, month)| month)
}

fn is_weekday(word: &str) -> bool {
    WEEKDAYS.iter().any(|full| abbreviates(word, full))
        || (word.len() >= 4 && HUNGARIAN_WEEKDAYS.contains(&word.to_lowercase().as_str()))
}

/// `a.m.` and `p.m.`: `word` and the two tokens after it.
fn dotted_meridiem(word: &str, next: Option<&[Tok]>) -> Option<bool> {
    let pm = if word.eq_ignore_ascii_case("a") {
        false
    } else if word.eq_ignore_ascii_case("p") {
        true
    } else {
        return None;
    };
    match next? {
        [Tok::Sym('.'), Tok::Word(m)] if m.eq_ignore_ascii_case("m") => Some(pm),
        _ => None,
    }
}

/// AM/PM in English, Chinese, Japanese and Korean.
fn meridiem(word: &str) -> Option<bool> {
    match word {
        "上午" | "午前" | "오전" => Some(false),
        "下午" | "午後" | "오후" => Some(true),
        _ if word.eq_ignore_ascii_case("am") => Some(false),
        _ if word.eq_ignore_ascii_case("pm") => Some(true),
        _ => None,
    }
}

/// Zone abbreviations and their offsets in minutes. RFC 822's North American
/// zones are authoritative for EST…PDT; CST is not here, as its meaning
/// depends on the feed (see [`Cst`]). IST is India.
const ZONES: &[(&str, i32)] = &[
    ("ut", 0),
    ("et", -300),
    ("ct", -360),
    ("mt", -420),
    ("pt", -480),
    ("mez", 60),
    ("mesz", 120),
    ("utc", 0),
    ("gmt", 0),
    ("z", 0),
    ("zulu", 0),
    ("wet", 0),
    ("west", 60),
    ("bst", 60),
    ("cet", 60),
    ("met", 60),
    ("wat", 60),
    ("cest", 120),
    ("mest", 120),
    ("eet", 120),
    ("sast", 120),
    ("cat", 120),
    ("ist", 330),
    ("eest", 180),
    ("msk", 180),
    ("eat", 180),
    ("trt", 180),
    ("ast", -240),
    ("at", -240),
    ("adt", -180),
    ("msd", 240),
    ("gst", 240),
    ("irst", 210),
    ("pkt", 300),
    ("npt", 345),
    ("ict", 420),
    ("wib", 420),
    ("hkt", 480),
    ("sgt", 480),
    ("myt", 480),
    ("pht", 480),
    ("awst", 480),
    ("wita", 480),
    ("jst", 540),
    ("kst", 540),
    ("wit", 540),
    ("acst", 570),
    ("acdt", 630),
    ("aest", 600),
    ("aedt", 660),
    ("nzst", 720),
    ("nzdt", 780),
    ("est", -300),
    ("edt", -240),
    ("cdt", -300),
    ("mst", -420),
    ("mdt", -360),
    ("pst", -480),
    ("pdt", -420),
    ("akst", -540),
    ("akdt", -480),
    ("hst", -600),
    ("nst", -210),
    ("ndt", -150),
    ("brt", -180),
    ("art", -180),
];

/// The offset in seconds of a zone abbreviation. The military letters other
/// than Z are read as UTC, as RFC 2822 §4.3 advises (RFC 822 had their signs
/// backwards, so no one knows what a sender meant).
fn zone(word: &str, cst: Cst) -> Option<i32> {
    if word.len() == 1
        && word
            .bytes()
            .all(|b| b.is_ascii_alphabetic() && !b.eq_ignore_ascii_case(&b'j'))
    {
        return Some(0);
    }
    if word.eq_ignore_ascii_case("cst") {
        return Some(cst.minutes() * 60);
    }
    ZONES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|&(_, minutes)| minutes * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input` in `tz` and compares with `expected`, an RFC 3339 UTC
    /// string, or `None`.
    #[track_caller]
    fn check(input: &str, tz: Tz, expected: Option<&str>) {
        let got =
            parse_date(input, tz).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        assert_eq!(got.as_deref(), expected, "parsing {input:?} in {tz}");
    }

    fn table(tz: Tz, cases: &[(&str, &str)]) {
        for &(input, expected) in cases {
            check(input, tz, Some(expected));
        }
    }

    const UTC: Tz = chrono_tz::UTC;
    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    #[test]
    fn rfc3339_and_iso8601() {
        table(
            SHANGHAI,
            &[
                ("2024-04-17T10:03:49Z", "2024-04-17T10:03:49Z"),
                ("2024-04-17t10:03:49z", "2024-04-17T10:03:49Z"),
                ("2024-04-17T10:03:49+08:00", "2024-04-17T02:03:49Z"),
                ("2024-04-17T10:03:49+0800", "2024-04-17T02:03:49Z"),
                ("2024-04-17T10:03:49+08", "2024-04-17T02:03:49Z"),
                ("2024-04-17T10:03:49-05:30", "2024-04-17T15:33:49Z"),
                ("2024-04-17T10:03:49.123Z", "2024-04-17T10:03:49.123Z"),
                ("2024-04-17T10:03:49,5+00:00", "2024-04-17T10:03:49.500Z"),
                (
                    "2024-04-17T10:03:49.1234567891Z",
                    "2024-04-17T10:03:49.123456789Z",
                ),
                ("2024-04-17T10:03Z", "2024-04-17T10:03:00Z"),
                ("2024-04-17T10:03:49 +08:00", "2024-04-17T02:03:49Z"),
                ("2024-04-17 10:03:49 UTC", "2024-04-17T10:03:49Z"),
                ("2024-04-17 10:03:49 GMT+0800", "2024-04-17T02:03:49Z"),
                ("20240417T100349Z", "2024-04-17T10:03:49Z"),
                ("20240417T1003+0100", "2024-04-17T09:03:00Z"),
                ("  2024-04-17T10:03:49Z\n", "2024-04-17T10:03:49Z"),
                ("2016-10-01T00:00:00+10:00", "2016-09-30T14:00:00Z"),
                ("2014-12-29T14:53:35+0200", "2014-12-29T12:53:35Z"),
                // W3DTF allows a month or a year alone.
                ("2003-12", "2003-11-30T16:00:00Z"),
                ("2003", "2002-12-31T16:00:00Z"),
            ],
        );
    }

    #[test]
    fn zoneless_times_read_in_feed_zone() {
        table(
            SHANGHAI,
            &[
                ("2024-04-17 10:03:49", "2024-04-17T02:03:49Z"),
                ("2024-04-17T10:03:49", "2024-04-17T02:03:49Z"),
                ("2024-04-17 10:03", "2024-04-17T02:03:00Z"),
                ("2024/04/17 10:03", "2024-04-17T02:03:00Z"),
                ("2024/4/7 9:03:05", "2024-04-07T01:03:05Z"),
                ("2024.04.17 10:03", "2024-04-17T02:03:00Z"),
                ("2024-04-17", "2024-04-16T16:00:00Z"),
                ("2024-04-17 10:03:49.000000", "2024-04-17T02:03:49Z"),
                ("2024-04-17 10:03 PM", "2024-04-17T14:03:00Z"),
                ("Wed, 17 Apr 2024 10:03:49", "2024-04-17T02:03:49Z"),
                ("17 Apr 2024", "2024-04-16T16:00:00Z"),
                ("17.04.2024 10:03", "2024-04-17T02:03:00Z"),
            ],
        );
        table(UTC, &[("2024-04-17 10:03:49", "2024-04-17T10:03:49Z")]);
        table(
            NEW_YORK,
            &[
                ("2024-01-17 10:03", "2024-01-17T15:03:00Z"),
                ("2024-07-17 10:03", "2024-07-17T14:03:00Z"),
            ],
        );
    }

    #[test]
    fn dst_gap_and_overlap() {
        table(
            NEW_YORK,
            &[
                // Clocks jumped from 02:00 EST to 03:00 EDT: 02:30 is read as EST.
                ("2024-03-10 02:30", "2024-03-10T07:30:00Z"),
                ("2024-03-10 01:59", "2024-03-10T06:59:00Z"),
                ("2024-03-10 03:00", "2024-03-10T07:00:00Z"),
                // 01:30 happened twice on 3 November: the earlier, EDT.
                ("2024-11-03 01:30", "2024-11-03T05:30:00Z"),
            ],
        );
        // Samoa skipped 30 December 2011 entirely.
        table(
            chrono_tz::Pacific::Apia,
            &[("2011-12-30 12:00", "2011-12-30T22:00:00Z")],
        );
    }

    #[test]
    fn cjk() {
        table(
            SHANGHAI,
            &[
                ("2024年04月17日 10:03", "2024-04-17T02:03:00Z"),
                ("2024年4月17日", "2024-04-16T16:00:00Z"),
                ("2024年4月17日10:03:49", "2024-04-17T02:03:49Z"),
                ("2024年4月17日 10时03分", "2024-04-17T02:03:00Z"),
                ("2024年4月17日 10時3分5秒", "2024-04-17T02:03:05Z"),
                ("2024年4月17日 下午3:05", "2024-04-17T07:05:00Z"),
                ("2024年4月17日(水) 10:03", "2024-04-17T02:03:00Z"),
                ("2024年4月17日 星期三 10:03", "2024-04-17T02:03:00Z"),
                ("2024 年 4 月 17 日 10:03", "2024-04-17T02:03:00Z"),
                ("2024년 4월 17일 오후 3:05", "2024-04-17T07:05:00Z"),
                ("2024-04-17 오후 11:23:17", "2024-04-17T15:23:17Z"),
            ],
        );
    }

    #[test]
    fn thai() {
        let bangkok: Tz = "Asia/Bangkok".parse().unwrap();
        table(
            chrono_tz::UTC,
            &[
                ("พฤ., 03 พ.ย. 2005 21:24:18 +0000", "2005-11-03T21:24:18Z"),
                ("จ., 23 พ.ค. 2005 09:00:05 +0000", "2005-05-23T09:00:05Z"),
                ("17 เมษายน 2567 10:03", "2024-04-17T10:03:00Z"),
                ("วันพุธที่ 17 มกราคม 2024", "2024-01-17T00:00:00Z"),
                ("1 กุมภาพันธ์ 2567", "2024-02-01T00:00:00Z"),
            ],
        );
        table(bangkok, &[("17 ธ.ค. 2566 08:00", "2023-12-17T01:00:00Z")]);
        check("พฤ., 03 2005", chrono_tz::UTC, None);
    }

    #[test]
    fn greek_and_etc_zones() {
        table(
            chrono_tz::UTC,
            &[
                ("Κυρ, 11 Ιούλ 2004 12:00:00 EST", "2004-07-11T17:00:00Z"),
                ("Wed, 19 Aug 2009 18:28:00 Etc/GMT", "2009-08-19T18:28:00Z"),
            ],
        );
        check("2003-12-31T10:14:61Z", chrono_tz::UTC, None);
    }

    #[test]
    fn zero_padded_three_digit_month_and_day() {
        table(
            chrono_tz::UTC,
            &[
                ("2003-012-31T10:14:55+00:00", "2003-12-31T10:14:55Z"),
                ("2004-010-006T00:00:00+02:00", "2004-10-05T22:00:00Z"),
                ("2020/1/10 14:33:00", "2020-01-10T14:33:00Z"),
            ],
        );
        check("2003-123-01", chrono_tz::UTC, None);
        // Day 67 is no day, however written.
        check("2004-10-067T00:00:00+02:00", chrono_tz::UTC, None);
    }

    /// Dates far off are kept as given: ordering falls back to the
    /// first-seen time downstream, the parser does not second-guess them.
    #[test]
    fn far_past_and_future_kept() {
        table(
            chrono_tz::UTC,
            &[
                ("Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00Z"),
                ("1994-12-31T23:59:59Z", "1994-12-31T23:59:59Z"),
                ("2099-01-01T00:00:00Z", "2099-01-01T00:00:00Z"),
            ],
        );
    }

    #[test]
    fn rfc822_and_relatives() {
        table(
            UTC,
            &[
                ("Wed, 17 Apr 2024 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 +0000", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 -0000", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 +0800", "2024-04-17T02:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 +08:00", "2024-04-17T02:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 UT", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 UTC", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 Z", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 EST", "2024-04-17T15:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 EDT", "2024-04-17T14:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 CST", "2024-04-17T16:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 CDT", "2024-04-17T15:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 MST", "2024-04-17T17:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 MDT", "2024-04-17T16:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 PST", "2024-04-17T18:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 PDT", "2024-04-17T17:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 CET", "2024-04-17T09:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 CEST", "2024-04-17T08:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 BST", "2024-04-17T09:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 JST", "2024-04-17T01:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 KST", "2024-04-17T01:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 IST", "2024-04-17T04:33:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 MSK", "2024-04-17T07:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 HKT", "2024-04-17T02:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 SGT", "2024-04-17T02:03:49Z"),
                ("Wed, 17 Apr 2024 10:03:49 AEST", "2024-04-17T00:03:49Z"),
                (
                    "Wed, 17 Apr 2024 10:03:49 +0800 (CST)",
                    "2024-04-17T02:03:49Z",
                ),
                ("Wed, 17 Apr 2024 10:03:49 GMT+8", "2024-04-17T02:03:49Z"),
                (
                    "Wed, 17 Apr 2024 10:03:49 UTC-05:00",
                    "2024-04-17T15:03:49Z",
                ),
                // Missing seconds, weekday; wrong weekday; short forms.
                ("Wed, 17 Apr 2024 10:03 GMT", "2024-04-17T10:03:00Z"),
                ("17 Apr 2024 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                ("Mon, 17 Apr 2024 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                ("Wed, 7 Apr 2024 10:03:49 GMT", "2024-04-07T10:03:49Z"),
                ("Wed, 17 Apr 24 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                ("Sat, 17 Apr 99 10:03:49 GMT", "1999-04-17T10:03:49Z"),
                (
                    "Wed,  17  Apr  2024   10:03:49   GMT",
                    "2024-04-17T10:03:49Z",
                ),
                ("wed, 17 apr 2024 10:03:49 gmt", "2024-04-17T10:03:49Z"),
                (
                    "Wednesday, 17 April 2024 10:03:49 GMT",
                    "2024-04-17T10:03:49Z",
                ),
                ("Wed, 17 Sept 2024 10:03:49 GMT", "2024-09-17T10:03:49Z"),
                ("Wed,17 Apr 2024 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                ("Wed, 17-Apr-2024 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                ("Wed, 17 Apr. 2024 10:03:49 GMT", "2024-04-17T10:03:49Z"),
                // US order, with commas, AM/PM and ordinals.
                ("April 17, 2024", "2024-04-17T00:00:00Z"),
                ("April 17th, 2024 10:03 pm EDT", "2024-04-18T02:03:00Z"),
                ("Apr 17, 2024 12:03:49 AM GMT", "2024-04-17T00:03:49Z"),
                ("Wednesday, April 17, 2024 - 10:03", "2024-04-17T10:03:00Z"),
                ("April 17, 2024 at 10:03 AM", "2024-04-17T10:03:00Z"),
                ("April 17, 2024, 10:03 p.m.", "2024-04-17T22:03:00Z"),
                // asctime, Unix date, JavaScript, Apache, Perforce.
                ("Wed Apr 17 10:03:49 2024", "2024-04-17T10:03:49Z"),
                ("Sun Jan  4 16:29:06 2004", "2004-01-04T16:29:06Z"),
                ("Wed Apr 17 10:03:49 CST 2024", "2024-04-17T16:03:49Z"),
                (
                    "Wed Apr 17 2024 10:03:49 GMT+0800 (China Standard Time)",
                    "2024-04-17T02:03:49Z",
                ),
                ("17/Apr/2024:10:03:49 +0000", "2024-04-17T10:03:49Z"),
                ("Fri, 2006/09/15 08:19:53 EDT", "2006-09-15T12:19:53Z"),
                ("Sunday, 06-Nov-94 08:49:37 GMT", "1994-11-06T08:49:37Z"),
                // Zones feedparser knows too; military letters but Z are UTC.
                ("Mon, 26 Jan 2004 16:31:00 ET", "2004-01-26T21:31:00Z"),
                ("Mon, 26 Jan 2004 16:31:00 PT", "2004-01-27T00:31:00Z"),
                ("Mon, 26 Jan 2004 16:31:00 AT", "2004-01-26T20:31:00Z"),
                ("Mon, 26 Jan 2004 16:31:00 A", "2004-01-26T16:31:00Z"),
                ("Mon, 26 Jan 2004 16:31:00 MEZ", "2004-01-26T15:31:00Z"),
                ("Mon, 26 Jan 2004 16:31:00 NZST", "2004-01-26T04:31:00Z"),
                // Months in other languages.
                ("Seg, 24 Set 2018 19:18:49 -0300", "2018-09-24T22:18:49Z"),
                ("jeu., 17 avr. 2024 10:03:49 +0200", "2024-04-17T08:03:49Z"),
                ("Mi, 17 Mär 2024 10:03:49 +0100", "2024-03-17T09:03:49Z"),
                ("17 déc. 2024", "2024-12-17T00:00:00Z"),
            ],
        );
    }

    /// "CST" is US Central (RFC 822) unless the feed is Chinese by its
    /// zone or its language: then China Standard Time.
    #[test]
    fn cst_read_by_the_feeds_zone_and_language() {
        let date = "Wed, 17 Apr 2024 10:03:49 CST";
        let asctime = "Wed Apr 17 10:03:49 CST 2024";
        let us = Some("2024-04-17T16:03:49Z");
        let china = Some("2024-04-17T02:03:49Z");
        let taipei: Tz = "Asia/Taipei".parse().unwrap();
        let hong_kong: Tz = "Asia/Hong_Kong".parse().unwrap();
        let chongqing: Tz = "Asia/Chongqing".parse().unwrap();
        let chicago: Tz = "America/Chicago".parse().unwrap();
        for tz in [SHANGHAI, taipei, hong_kong, chongqing] {
            check(date, tz, china);
            check(asctime, tz, china);
        }
        for tz in [UTC, NEW_YORK, chicago, chrono_tz::Asia::Tokyo] {
            check(date, tz, us);
            check(asctime, tz, us);
        }
        // By language, whatever the zone.
        let read = |tz: Tz, lang: Option<&str>| {
            parse_date_in(date, tz, Cst::for_feed(tz, lang))
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        };
        for lang in ["zh", "zh-CN", "ZH-tw", "zh_Hant_HK", " zh-hans "] {
            assert_eq!(read(UTC, Some(lang)).as_deref(), china, "{lang}");
        }
        for lang in [None, Some("en-US"), Some("zu"), Some("")] {
            assert_eq!(read(UTC, lang).as_deref(), us, "{lang:?}");
        }
        // An offset written out wins over the name, either way.
        for tz in [UTC, SHANGHAI] {
            check("Wed, 17 Apr 2024 10:03:49 +0800 (CST)", tz, china);
            check("Wed, 17 Apr 2024 10:03:49 -0600 (CST)", tz, us);
        }
        // CDT is only ever US Central Daylight Time.
        check(
            "Wed, 17 Apr 2024 10:03:49 CDT",
            SHANGHAI,
            Some("2024-04-17T15:03:49Z"),
        );
    }

    #[test]
    fn hungarian() {
        let budapest: Tz = chrono_tz::Europe::Budapest;
        table(
            budapest,
            &[
                ("2024. április 17., szerda 10:03", "2024-04-17T08:03:00Z"),
                ("2024. április 17. 10:03", "2024-04-17T08:03:00Z"),
                (
                    "2024. Április 17., Szerda, 10:03:49",
                    "2024-04-17T08:03:49Z",
                ),
                ("2024. ápr. 17. 10:03", "2024-04-17T08:03:00Z"),
                ("2024. márc. 5.", "2024-03-04T23:00:00Z"),
                ("2024. szept. 5. 8:00", "2024-09-05T06:00:00Z"),
                ("2024. február 29., csütörtök", "2024-02-28T23:00:00Z"),
                ("2024.04.17. 10:03:49", "2024-04-17T08:03:49Z"),
                ("2024.04.17 10:03:49", "2024-04-17T08:03:49Z"),
                ("2024. 04. 17. 10:03", "2024-04-17T08:03:00Z"),
                ("2024. 4. 7.", "2024-04-06T22:00:00Z"),
                ("2024. április 17. du. 3:04", "2024-04-17T13:04:00Z"),
                ("2024. április 17. de. 11:04", "2024-04-17T09:04:00Z"),
                ("2024.04.17. 10:03:49 +0200", "2024-04-17T08:03:49Z"),
                ("2024. április 17. 10:03 CET", "2024-04-17T09:03:00Z"),
                ("Szerda, 2024. április 17. 10:03", "2024-04-17T08:03:00Z"),
                // feedparser's test of its Hungarian reader.
                ("2004-július-13T9:15-05:00", "2004-07-13T14:15:00Z"),
                // The word reader knows the names too.
                ("17 április 2024 10:03", "2024-04-17T08:03:00Z"),
                ("szerda, 17 ápr 2024 10:03:49 +0200", "2024-04-17T08:03:49Z"),
                // Korean writes its dates the same way.
                ("2024. 4. 17. 오후 3:04:05", "2024-04-17T13:04:05Z"),
            ],
        );
        for bad in [
            "2024. foo 17.",
            "2024. április",
            "2024. április 32.",
            "2024.04.17.10:03",
        ] {
            check(bad, budapest, None);
        }
    }

    /// The forms feed-rs 3's own parser is tested on.
    #[test]
    fn feed_rs_lenient_forms() {
        table(
            UTC,
            &[
                ("Fri, Oct 7 2022 10:15:00 -0400", "2022-10-07T14:15:00Z"),
                ("26 August 2019 10:00:00 +0000", "2019-08-26T10:00:00Z"),
                ("Mon, 01 Jan 0001 00:00:00 UTC", "0001-01-01T00:00:00Z"),
                ("Wed, 22 Jan 2020 10:58:02 -0000", "2020-01-22T10:58:02Z"),
                ("Wed, 25 Aug 2012 03:25:42 GMT", "2012-08-25T03:25:42Z"),
                ("2 September 2019 20:00:00 +0000", "2019-09-02T20:00:00Z"),
                ("24 Sep 2013 1:27 PDT", "2013-09-24T08:27:00Z"),
                ("5 Jun 2017 24:05 PDT", "2017-06-05T07:05:00Z"),
                ("Tue, 15 Nov 2022 20:15:04 Z", "2022-11-15T20:15:04Z"),
                ("mer, 16 nov 2022 00:38:15 +0100", "2022-11-15T23:38:15Z"),
                ("mar, 15 nov 2022 00:38:15 +0100", "2022-11-14T23:38:15Z"),
                ("Thurs, 13 Jul 2011 07:38:00 GMT", "2011-07-13T07:38:00Z"),
            ],
        );
    }

    #[test]
    fn garbage_is_none() {
        for input in [
            "",
            "   ",
            "now",
            "yesterday",
            "17",
            "Apr 17",
            "April 2024",
            "Fri, 2024",
            "2024-13-01",
            "2024-02-30",
            "2024-04-17T25:00:00Z",
            "2024-04-17T10:60:00Z",
            "2024-04-17T10:03:49+25:00",
            "2024-04-1710:03",
            "2024-04-17 10",
            "Wed, 32 Apr 2024 10:03:49 GMT",
            "Wed, 17 Foo 2024 10:03:49 GMT",
            "Wed, 17 Apr 2024 10:03:49 XYZ",
            "04/17/2024",
            "17-04-2024",
            "1713348229",
            "Wed, 17 Apr 2024 10:03:49 GMT 2025",
            "<p>hello</p>",
        ] {
            check(input, UTC, None);
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let long = "9".repeat(300);
        let many = "1:".repeat(100);
        for input in [
            "\0",
            "💥",
            "2024-04-17T💥",
            "2024年",
            "2024年4",
            "2024年4月",
            "2024年4月17日(",
            "2024年4月17日 星期",
            "2024-04-17T10:03:49.",
            "2024-04-17T10:03:49+",
            "2024-04-17T10:03:49-:",
            "Wed, 17 Apr 2024 10:03:49 GMT+",
            "Wed, 17 Apr 2024 10:03:49 GMT+99999",
            "Wed, 17 Apr 2024 10:",
            "Wed, 17 Apr 2024 10:03:",
            "Wed, 17 Apr 2024 10:03:49.",
            "Wed, 17 Apr 2024 10:03:49 (",
            "999999999999 Apr 2024",
            "17 Apr 9999 23:59:59 -2359",
            "1 Jan 0000 00:00:00 +2359",
            "17 Apr 4294967295",
            "st",
            "17 th",
            "+",
            "-",
            ":",
            "T",
            "Z",
            "年月日",
            "ÄÖÜ, 17 Apr 2024",
            "２０２４年４月１７日",
            &long,
            &many,
        ] {
            let _ = parse_date(input, UTC);
            let _ = parse_date(input, chrono_tz::Pacific::Kiritimati);
        }
    }
}
