//! The facts a text states, so near-duplicate dedup never merges two
//! different facts that merely share a template.
//!
//! An embedding puts "My son's school is Lincoln Elementary" and "My
//! daughter's school is Lincoln Elementary" (or rent paid in March and in
//! April, a 5K and a 10K race) within any useful merge threshold: measured
//! with the built-in model on tests/data/dedup_pairs.json, half of the pairs of
//! different facts were merged by cosine alone. So a near-duplicate merge
//! also needs both texts to carry the same *fact tokens*:
//!
//! - numbers: digit runs and words holding digits (`5k`, `3pm`, `hunter42`),
//!   number words (`two` = `2`), ordinals (`4th` = `4`), Chinese numerals;
//! - times: months, weekdays, relative days and parts of the day, seasons,
//!   `last`/`next`/`ago`, and their Chinese counterparts;
//! - polarity: negation (`not`, `n't`, `never`, `no`, 不/没/未…) and the
//!   negative verbs `dislike`/`hate` and `quit`/`stop`;
//! - roles: kinship, social roles, pets and gendered pronouns (`son` ≠
//!   `daughter`, `he` ≠ `she`), English and Chinese;
//! - names: capitalised words that do not start a sentence, words with inner
//!   capitals or all capitals (`iPhone`, `NASA`), e-mail addresses and URLs.
//!   A name only counts as a difference if the other text lacks the word
//!   entirely (so "Paris is where I live" still matches "I live in Paris").
//!
//! The rule errs on the side of keeping both: a pair it wrongly keeps apart
//! costs one extra memory, a pair it wrongly merges loses a fact. It is
//! lexical on purpose (no model, no I/O): it runs under the store's locks.

use std::collections::BTreeSet;

/// Why two near-identical texts are different facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FactDifference {
    Numbers,
    Times,
    Polarity,
    Roles,
    Names,
}

/// The fact tokens of one text, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
struct Facts {
    numbers: BTreeSet<String>,
    times: BTreeSet<String>,
    polarity: BTreeSet<&'static str>,
    roles: BTreeSet<&'static str>,
    /// Candidate names (lowercased): compared against `words` of the other text.
    names: BTreeSet<String>,
    /// Every word of the text, lowercased.
    words: BTreeSet<String>,
}

impl Facts {
    /// Whether the text has `word`, or its plural or singular.
    fn has_word(&self, word: &str) -> bool {
        self.words.contains(word)
            || self.words.contains(&format!("{word}s"))
            || word.strip_suffix('s').is_some_and(|w| self.words.contains(w))
    }
}

/// The first difference in stated facts between `a` and `b`, if any.
pub(crate) fn differing_facts(a: &str, b: &str) -> Option<FactDifference> {
    let (fa, fb) = (facts(a), facts(b));
    if fa.numbers != fb.numbers {
        return Some(FactDifference::Numbers);
    }
    if fa.times != fb.times {
        return Some(FactDifference::Times);
    }
    if fa.polarity != fb.polarity {
        return Some(FactDifference::Polarity);
    }
    if fa.roles != fb.roles {
        return Some(FactDifference::Roles);
    }
    let missing = |names: &BTreeSet<String>, other: &Facts| names.iter().any(|n| !other.has_word(n));
    if missing(&fa.names, &fb) || missing(&fb.names, &fa) {
        return Some(FactDifference::Names);
    }
    None
}

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("thirteen", "13"),
    ("fourteen", "14"),
    ("fifteen", "15"),
    ("sixteen", "16"),
    ("seventeen", "17"),
    ("eighteen", "18"),
    ("nineteen", "19"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
    ("hundred", "100"),
    ("thousand", "1000"),
    ("million", "1000000"),
    ("billion", "1000000000"),
    ("dozen", "12"),
    ("half", "0.5"),
    ("twice", "x2"),
    ("second", "2"),
    ("third", "3"),
    ("fourth", "4"),
    ("fifth", "5"),
    ("sixth", "6"),
    ("seventh", "7"),
    ("eighth", "8"),
    ("ninth", "9"),
    ("tenth", "10"),
];

const MONTHS: &[&str] = &[
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
const MONTH_ABBREVIATIONS: &[(&str, &str)] = &[
    ("jan", "january"),
    ("feb", "february"),
    ("apr", "april"),
    ("jun", "june"),
    ("jul", "july"),
    ("aug", "august"),
    ("sep", "september"),
    ("sept", "september"),
    ("oct", "october"),
    ("nov", "november"),
    ("dec", "december"),
];
/// Month names that are also common words: months only when capitalised.
const AMBIGUOUS_MONTHS: &[&str] = &["may", "march"];
const WEEKDAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const TIME_WORDS: &[&str] = &[
    "today",
    "tonight",
    "tomorrow",
    "yesterday",
    "morning",
    "afternoon",
    "evening",
    "night",
    "noon",
    "midnight",
    "weekend",
    "weekday",
    "spring",
    "summer",
    "autumn",
    "winter",
    "last",
    "next",
    "ago",
];

/// Negation and negative verbs, each to the polarity it marks.
const POLARITY_WORDS: &[(&str, &str)] = &[
    ("not", "not"),
    ("no", "not"),
    ("never", "not"),
    ("none", "not"),
    ("nobody", "not"),
    ("nothing", "not"),
    ("nowhere", "not"),
    ("neither", "not"),
    ("nor", "not"),
    ("cannot", "not"),
    ("without", "not"),
    ("dont", "not"),
    ("doesnt", "not"),
    ("didnt", "not"),
    ("isnt", "not"),
    ("wasnt", "not"),
    ("arent", "not"),
    ("werent", "not"),
    ("cant", "not"),
    ("couldnt", "not"),
    ("wont", "not"),
    ("wouldnt", "not"),
    ("shouldnt", "not"),
    ("hasnt", "not"),
    ("havent", "not"),
    ("hadnt", "not"),
    ("aint", "not"),
    ("dislike", "dislike"),
    ("dislikes", "dislike"),
    ("disliked", "dislike"),
    ("hate", "dislike"),
    ("hates", "dislike"),
    ("hated", "dislike"),
    ("detest", "dislike"),
    ("detests", "dislike"),
    ("quit", "stop"),
    ("quits", "stop"),
    ("stopped", "stop"),
    ("stop", "stop"),
    ("stops", "stop"),
];

/// Role words (singular, lowercased) to one canonical role.
const ROLE_WORDS: &[(&str, &str)] = &[
    ("son", "son"),
    ("daughter", "daughter"),
    ("mother", "mother"),
    ("mom", "mother"),
    ("mum", "mother"),
    ("father", "father"),
    ("dad", "father"),
    ("wife", "wife"),
    ("husband", "husband"),
    ("spouse", "spouse"),
    ("partner", "partner"),
    ("boyfriend", "boyfriend"),
    ("girlfriend", "girlfriend"),
    ("fiance", "fiance"),
    ("fiancee", "fiancee"),
    ("brother", "brother"),
    ("sister", "sister"),
    ("grandmother", "grandmother"),
    ("grandma", "grandmother"),
    ("grandfather", "grandfather"),
    ("grandpa", "grandfather"),
    ("grandson", "grandson"),
    ("granddaughter", "granddaughter"),
    ("aunt", "aunt"),
    ("uncle", "uncle"),
    ("cousin", "cousin"),
    ("niece", "niece"),
    ("nephew", "nephew"),
    ("child", "child"),
    ("children", "child"),
    ("kid", "child"),
    ("baby", "baby"),
    ("boss", "boss"),
    ("manager", "manager"),
    ("colleague", "colleague"),
    ("coworker", "colleague"),
    ("friend", "friend"),
    ("neighbour", "neighbour"),
    ("neighbor", "neighbour"),
    ("roommate", "roommate"),
    ("flatmate", "roommate"),
    ("landlord", "landlord"),
    ("tenant", "tenant"),
    ("teacher", "teacher"),
    ("student", "student"),
    ("doctor", "doctor"),
    ("dentist", "dentist"),
    ("therapist", "therapist"),
    ("lawyer", "lawyer"),
    ("client", "client"),
    ("customer", "customer"),
    ("dog", "dog"),
    ("cat", "cat"),
    ("he", "he"),
    ("him", "he"),
    ("his", "he"),
    ("himself", "he"),
    ("she", "she"),
    ("her", "she"),
    ("hers", "she"),
    ("herself", "she"),
];

/// Chinese role words (longest first where one contains another).
const ZH_ROLES: &[(&str, &str)] = &[
    ("儿子", "son"),
    ("女儿", "daughter"),
    ("母亲", "mother"),
    ("妈妈", "mother"),
    ("父亲", "father"),
    ("爸爸", "father"),
    ("妻子", "wife"),
    ("老婆", "wife"),
    ("丈夫", "husband"),
    ("老公", "husband"),
    ("哥哥", "brother"),
    ("弟弟", "brother"),
    ("姐姐", "sister"),
    ("妹妹", "sister"),
    ("爷爷", "grandfather"),
    ("外公", "grandfather"),
    ("姥爷", "grandfather"),
    ("奶奶", "grandmother"),
    ("外婆", "grandmother"),
    ("姥姥", "grandmother"),
    ("叔叔", "uncle"),
    ("舅舅", "uncle"),
    ("阿姨", "aunt"),
    ("姑姑", "aunt"),
    ("老板", "boss"),
    ("同事", "colleague"),
    ("朋友", "friend"),
    ("邻居", "neighbour"),
    ("室友", "roommate"),
    ("老师", "teacher"),
    ("医生", "doctor"),
    ("她", "she"),
    ("他", "he"),
    ("狗", "dog"),
    ("猫", "cat"),
];
// Kept compact by hand: rustfmt would put each CJK word on its own line.
#[rustfmt::skip]
const ZH_TIMES: &[&str] = &[
    "今天", "明天", "昨天", "后天", "前天", "早上", "上午", "中午", "下午", "晚上", "周末", "春天", "夏天", "秋天",
    "冬天", "去年", "今年", "明年", "上周", "下周", "上个月", "下个月", "星期日", "星期天", "周日", "礼拜天",
];
const ZH_NUMERALS: &str = "零〇一二两三四五六七八九十百千万亿";
/// 别 and 非 are left out: 特别 and 非常 ("especially", "very") are everywhere.
const ZH_NEGATIONS: &str = "不没未无";
/// Words after which a '.' does not end a sentence ("Dr. Patel").
const ABBREVIATIONS: &[&str] = &["dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "mt", "vs", "etc"];

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

fn lookup(table: &[(&str, &'static str)], word: &str) -> Option<&'static str> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// `4th` → `4`, `06` → `6`, `1,200` (commas already removed) stays; words
/// with letters around the digits (`5k`, `3pm`, `hunter42`) stay whole.
fn number_token(word: &str) -> String {
    let lower = word.to_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, rest) = lower.split_at(digits_end);
    let rest = if !digits.is_empty() && matches!(rest, "st" | "nd" | "rd" | "th") { "" } else { rest };
    let digits = if digits.is_empty() {
        digits
    } else {
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            "0"
        } else {
            trimmed
        }
    };
    format!("{digits}{rest}")
}

fn facts(text: &str) -> Facts {
    let mut f = Facts::default();
    let text = text.replace(['\u{2019}', '\u{2018}'], "'");
    // Text in capitals says nothing by its capitals: no name comes from them.
    let (upper, letters) = text
        .chars()
        .filter(|c| c.is_alphabetic() && !is_cjk(*c))
        .fold((0, 0), |(u, l), c| (u + usize::from(c.is_uppercase()), l + 1));
    let shouting = letters > 0 && upper * 2 > letters;
    let mut sentence_start = true;
    for chunk in text.split_whitespace() {
        let trimmed = chunk.trim_matches(|c: char| !c.is_alphanumeric());
        let ends_sentence = chunk.ends_with(['.', '!', '?', ';', ':', '。', '！', '？', '；']);
        if trimmed.is_empty() {
            // A lone dash or quote changes nothing; a lone '.' ends a sentence.
            sentence_start |= ends_sentence;
            continue;
        }
        if trimmed.contains('@') || trimmed.contains("://") {
            f.names.insert(trimmed.to_lowercase());
            f.words.insert(trimmed.to_lowercase());
        }
        // "1,200" is one number.
        let joined: String = {
            let cs: Vec<char> = trimmed.chars().collect();
            cs.iter()
                .enumerate()
                .filter(|&(i, c)| {
                    !(*c == ','
                        && i > 0
                        && cs.get(i + 1).is_some_and(|n| n.is_ascii_digit())
                        && cs[i - 1].is_ascii_digit())
                })
                .map(|(_, c)| *c)
                .collect()
        };
        let mut first_word_of_chunk = true;
        for word in joined.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let word = word.trim_matches('\'');
            if word.is_empty() {
                continue;
            }
            let initial = sentence_start && first_word_of_chunk;
            first_word_of_chunk = false;
            if word.chars().any(is_cjk) {
                // Chinese runs are read by `chinese_facts`; only their digits here.
                for run in word.split(|c: char| !c.is_ascii_digit()).filter(|r| !r.is_empty()) {
                    f.numbers.insert(number_token(run));
                }
                continue;
            }
            english_word(&mut f, word, initial, shouting);
        }
        let last_word = trimmed.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("").to_lowercase();
        sentence_start =
            ends_sentence && !(ABBREVIATIONS.contains(&last_word.as_str()) || last_word.chars().count() == 1);
    }
    chinese_facts(&mut f, &text);
    f
}

fn english_word(f: &mut Facts, word: &str, sentence_initial: bool, shouting: bool) {
    let lower = word.to_lowercase();
    // "don't" → "dont"; "user's" → "user".
    let bare = lower.strip_suffix("'s").unwrap_or(&lower).replace('\'', "");
    f.words.insert(bare.clone());
    f.words.insert(lower.clone());
    if word.chars().any(|c| c.is_ascii_digit()) {
        f.numbers.insert(number_token(&bare));
        return;
    }
    if let Some(n) = lookup(NUMBER_WORDS, &bare) {
        f.numbers.insert(n.to_string());
        return;
    }
    let capitalised = word.chars().next().is_some_and(char::is_uppercase);
    // "May I…" starts a sentence; "in May" names a month.
    let ambiguous = AMBIGUOUS_MONTHS.contains(&bare.as_str());
    if MONTHS.contains(&bare.as_str()) && (!ambiguous || (capitalised && !sentence_initial)) {
        f.times.insert(bare);
        return;
    }
    if let Some(m) = lookup(MONTH_ABBREVIATIONS, &bare) {
        if capitalised {
            f.times.insert(m.to_string());
            return;
        }
    }
    let singular = bare.strip_suffix('s').filter(|s| s.len() > 2).unwrap_or(&bare);
    if WEEKDAYS.contains(&bare.as_str()) || WEEKDAYS.contains(&singular) {
        f.times.insert(singular.to_string());
        return;
    }
    if TIME_WORDS.contains(&bare.as_str()) {
        f.times.insert(bare);
        return;
    }
    if let Some(p) = lookup(POLARITY_WORDS, &bare) {
        f.polarity.insert(p);
        return;
    }
    if bare.ends_with("nt") && lower.ends_with("n't") {
        f.polarity.insert("not");
        return;
    }
    if let Some(r) = lookup(ROLE_WORDS, &bare).or_else(|| lookup(ROLE_WORDS, singular)) {
        f.roles.insert(r);
        return;
    }
    if shouting {
        return;
    }
    let inner_capital = word.chars().skip(1).any(char::is_uppercase);
    // Acronyms (NASA, IBM); a longer word in capitals is emphasis.
    let all_caps = (2..=5).contains(&word.chars().count()) && word.chars().all(char::is_uppercase);
    if inner_capital || all_caps || (capitalised && !sentence_initial && word != "I" && !lower.starts_with("i'")) {
        f.names.insert(bare);
    }
}

fn chinese_facts(f: &mut Facts, text: &str) {
    if !text.chars().any(is_cjk) {
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if ZH_NUMERALS.contains(chars[i]) {
            let start = i;
            while i < chars.len() && ZH_NUMERALS.contains(chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let before: String = chars[start.saturating_sub(2)..start].iter().collect();
            let after = chars.get(i).copied();
            let day_of_week = ["星期", "礼拜", "周"].into_iter().find(|w| before.ends_with(w));
            let unit = after.filter(|c| matches!(c, '月' | '日' | '号' | '点'));
            if day_of_week.is_some() || unit.is_some() {
                let unit = unit.map(String::from).unwrap_or_default();
                f.times.insert(format!("zh:{}{run}{unit}", day_of_week.unwrap_or("")));
            } else {
                f.numbers.insert(format!("zh:{run}"));
            }
            continue;
        }
        if ZH_NEGATIONS.contains(chars[i]) {
            f.polarity.insert("not");
        }
        i += 1;
    }
    if text.contains("讨厌") {
        f.polarity.insert("dislike");
    }
    for t in ZH_TIMES {
        if text.contains(t) {
            f.times.insert(format!("zh:{t}"));
        }
    }
    for (w, role) in ZH_ROLES {
        if text.contains(w) {
            f.roles.insert(role);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn differ(a: &str, b: &str) -> Option<FactDifference> {
        let d = differing_facts(a, b);
        assert_eq!(d, differing_facts(b, a), "symmetric: {a:?} / {b:?}");
        d
    }

    #[test]
    fn different_facts_are_told_apart() {
        use FactDifference::*;
        assert_eq!(differ("My rent is 1,200 dollars.", "My rent is 1500 dollars."), Some(Numbers));
        assert_eq!(differ("I ran a 5K race.", "I ran a 10K race."), Some(Numbers));
        assert_eq!(differ("The user has two cats.", "The user has three cats."), Some(Numbers));
        assert_eq!(differ("The password is hunter42.", "The password is hunter43."), Some(Numbers));
        assert_eq!(differ("Starts on 2025-06-03.", "Starts on 2025-06-10."), Some(Numbers));
        assert_eq!(differ("I paid the rent for March.", "I paid the rent for April."), Some(Times));
        assert_eq!(differ("Pickup is on Wednesday.", "Pickup is on Thursday."), Some(Times));
        assert_eq!(differ("They visit next week.", "They visited last week."), Some(Times));
        assert_eq!(differ("I eat meat.", "I don't eat meat."), Some(Polarity));
        assert_eq!(differ("I eat meat.", "I dont eat meat."), Some(Polarity));
        assert_eq!(differ("The user loves jazz.", "The user hates jazz."), Some(Polarity));
        assert_eq!(differ("The user smokes.", "The user quit smoking."), Some(Polarity));
        assert_eq!(differ("My son's school is Lincoln.", "My daughter's school is Lincoln."), Some(Roles));
        assert_eq!(differ("He is afraid of flying.", "She is afraid of flying."), Some(Roles));
        assert_eq!(differ("The user's doctor is Dr. Patel.", "The user's doctor is Dr. Nguyen."), Some(Names));
        assert_eq!(differ("I bank with Chase.", "I bank with Wells Fargo."), Some(Names));
        assert_eq!(differ("Mail anna@example.com.", "Mail anna.k@example.org."), Some(Names));
        assert_eq!(differ("用户的女儿今年六岁。", "用户的女儿今年九岁。"), Some(Numbers));
        assert_eq!(differ("预约在星期二。", "预约在星期四。"), Some(Times));
        assert_eq!(differ("生日在十月。", "生日在十一月。"), Some(Times));
        assert_eq!(differ("用户喜欢吃辣。", "用户不喜欢吃辣。"), Some(Polarity));
        assert_eq!(differ("我儿子的学校。", "我女儿的学校。"), Some(Roles));
        assert_eq!(differ("房租是3000元。", "房租是3500元。"), Some(Numbers));
    }

    #[test]
    fn restatements_of_one_fact_are_not() {
        for (a, b) in [
            ("The user's favourite drink is green tea.", "The user's favorite drink is green tea!"),
            ("The user has two cats.", "The user has 2 cats."),
            ("I don't eat meat.", "I do not eat meat."),
            ("I live in Paris.", "Paris is where I live."),
            ("My daughter's school is Lincoln Elementary.", "My daughter goes to Lincoln Elementary school."),
            ("My rent is 1,200 dollars a month.", "My monthly rent is 1200 dollars."),
            ("The user is on the 4th floor.", "The user lives on floor 4."),
            ("Every morning the user drinks coffee.", "The user drinks coffee every morning."),
            ("I'm afraid of heights.", "I am afraid of heights."),
            ("May I remind you: the plants need water.", "The plants need water."),
            ("用户喜欢在周末去爬山。", "用户喜欢周末去爬山。"),
            ("THE USER LIVES IN LYON", "The user lives in Lyon."),
            ("xylophone LESSONS on monday", "Xylophone lesson is on Monday"),
            ("The user met NASA engineers.", "The user met engineers from NASA."),
        ] {
            assert_eq!(differ(a, b), None, "{a:?} / {b:?}");
        }
    }
}
