//! Money: an exact decimal amount in one currency.
//!
//! Amounts are [`rust_decimal::Decimal`], never floating point. A [`Money`]
//! never holds more precision than its currency's minor unit (cents for USD,
//! none for JPY, fils for KWD), so every total is exact to the minor unit.
//! Arithmetic between different currencies is a typed error, never a silent
//! conversion.
//!
//! # Range
//! Every amount lies within [`MIN_MINOR`]..=[`MAX_MINOR`] minor units, the
//! range every store holds exactly: [`Money::new`] refuses amounts outside it
//! (naming the field) and arithmetic that would leave it is an
//! [`MoneyError::Overflow`], so no amount can reach a store that cannot write it.
//!
//! # Rounding
//! There is exactly one rounding rule: results that land between two minor
//! units (a percentage, a share) round **half to even** ("banker's rounding"),
//! which has no upward bias over many operations. Allocation does not round at
//! all: it splits minor units so the parts sum exactly to the whole.

use std::cmp::Ordering;
use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

/// What money arithmetic can refuse. Converts into the crate's
/// [`Error`](crate::value::error::Error) variants of the same names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency the operation works in.
        expected: Currency,
        /// The currency that was offered.
        found: Currency,
    },
    /// A result does not fit the range every store holds.
    #[error("amount overflow in {what}")]
    Overflow {
        /// The operation that overflowed.
        what: &'static str,
    },
    /// An argument was invalid (negative or empty weights).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

// Active ISO 4217 codes. Exponent exceptions are listed below; all others use 2.
const CODES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";
/// The minor unit's decimal places of a listed `code`: 2 unless one of
/// the lists below says otherwise. A `match` compiles to a few compares
/// where scanning the three lists cost ~300 instructions a parse (stored
/// rows decode a currency per amount: a catalog page 21 of them, ~3% of
/// it on SQLite). A test holds it to the lists.
fn exponent_of(code: [u8; 3]) -> u8 {
    match &code {
        b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG" | b"RWF"
        | b"UGX" | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
        b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
        b"CLF" | b"UYW" => 4,
        _ => 2,
    }
}
#[cfg(test)]
const EXPONENT_0: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
#[cfg(test)]
const EXPONENT_3: &str = "BHD IQD JOD KWD LYD OMR TND";
#[cfg(test)]
const EXPONENT_4: &str = "CLF UYW";

/// The most minor units an amount may have: SQLite keeps money as a 64-bit
/// integer of minor units (PostgreSQL's `NUMERIC` holds more), so this is
/// the bound every store can represent exactly. 92,233,720,368,547,758.07
/// USD; a store needing a bound derives it from this one.
pub const MAX_MINOR: i64 = i64::MAX;
/// The fewest minor units an amount may have (refund deltas are negative);
/// see [`MAX_MINOR`].
pub const MIN_MINOR: i64 = i64::MIN;

/// An ISO 4217 currency and the number of decimal places of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency::known(*b"USD", 2);
    /// Euro.
    pub const EUR: Currency = Currency::known(*b"EUR", 2);
    /// Pound sterling.
    pub const GBP: Currency = Currency::known(*b"GBP", 2);
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency::known(*b"JPY", 0);

    const fn known(code: [u8; 3], exponent: u8) -> Self {
        Self { code, exponent }
    }

    /// Parses an active ISO 4217 code in either case (`usd`, `EUR`).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let b = s.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(ValidationError::new(
                "currency",
                Reason::Format {
                    expected: "a three-letter ISO 4217 code",
                },
            ));
        }
        let code = [
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ];
        // The list is three-letter codes separated by single spaces, sorted:
        // a binary search over four-byte strides takes eight where a scan
        // took ninety on average (~900 instructions per parse, and a
        // purchase row decodes three amounts).
        let strides = CODES.as_bytes();
        let (mut lo, mut hi) = (0, strides.len().div_ceil(4));
        let mut known = false;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match strides.get(mid * 4..mid * 4 + 3).map(|c| c.cmp(&code[..])) {
                Some(std::cmp::Ordering::Less) => lo = mid + 1,
                Some(std::cmp::Ordering::Greater) => hi = mid,
                Some(std::cmp::Ordering::Equal) => {
                    known = true;
                    break;
                }
                None => break,
            }
        }
        if !known {
            return Err(ValidationError::new(
                "currency",
                Reason::Unknown {
                    allowed: "an active ISO 4217 currency code",
                },
            ));
        }
        Ok(Self {
            code,
            exponent: exponent_of(code),
        })
    }

    /// The code, uppercase.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Decimal places of the minor unit (2 for USD, 0 for JPY).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

/// An exact amount in one currency, never finer than the currency's minor unit.
///
/// Amounts may be negative (a refund delta); prices are checked non-negative
/// where they are built. Deserializing goes through [`Money::new`], so a
/// stored or posted amount finer than the minor unit is refused there too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

// The serialized shape of `Money`, checked by `Money::new` on the way in.
#[derive(Deserialize)]
struct MoneyRepr {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = ValidationError;
    fn try_from(r: MoneyRepr) -> Result<Self, Self::Error> {
        Money::new(r.amount, r.currency)
    }
}

impl Money {
    /// Checks that `amount` fits `currency`'s minor unit and wraps it.
    /// `19.99 USD` is fine, `19.999 USD` and `5.5 JPY` are refused, and so is
    /// an amount beyond [`MIN_MINOR`]..=[`MAX_MINOR`] minor units (about
    /// ±9.2e16 USD), which not every store could hold.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, ValidationError> {
        Self::new_field("amount", amount, currency)
    }

    /// Like [`Money::new`], naming `field` in the error.
    pub fn new_field(
        field: &'static str,
        amount: Decimal,
        currency: Currency,
    ) -> Result<Self, ValidationError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.exponent() {
            return Err(ValidationError::new(
                field,
                Reason::Precision {
                    max_scale: currency.exponent(),
                },
            ));
        }
        Self::exact(normalized, currency).ok_or_else(|| {
            ValidationError::new(
                field,
                Reason::OutOfRange {
                    min: Self::from_minor(MIN_MINOR, currency).amount.to_string(),
                    max: Self::from_minor(MAX_MINOR, currency).amount.to_string(),
                },
            )
        })
    }

    /// Like [`Money::new_field`], also refusing negative amounts: for prices.
    pub fn price(
        field: &'static str,
        amount: Decimal,
        currency: Currency,
    ) -> Result<Self, ValidationError> {
        let m = Self::new_field(field, amount, currency)?;
        if m.is_negative() {
            return Err(ValidationError::new(field, Reason::Negative));
        }
        Ok(m)
    }

    /// An amount given in minor units (`1999` cents is `19.99 USD`). Every
    /// `i64` lies within [`MIN_MINOR`]..=[`MAX_MINOR`].
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        // An i64 at scale <= 4 always fits: already at the minor unit.
        Self {
            amount: Decimal::new(minor, currency.exponent()),
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::from_minor(0, currency)
    }

    // Every Money is stored rescaled to the currency exponent so that equal
    // amounts compare and hash equal and print with their minor unit; its
    // mantissa is then its minor units. `Decimal::rescale` silently stops
    // short when the mantissa would overflow; such an amount, and any whose
    // minor units leave MIN_MINOR..=MAX_MINOR, is out of range: `None`.
    fn exact(amount: Decimal, currency: Currency) -> Option<Self> {
        let mut amount = amount;
        amount.rescale(currency.exponent());
        let minor = i64::try_from(amount.mantissa()).ok()?;
        ((MIN_MINOR..=MAX_MINOR).contains(&minor) && amount.scale() == currency.exponent())
            .then_some(Self { amount, currency })
    }

    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (cents). Always `Some`, since amounts stay
    /// within [`MIN_MINOR`]..=[`MAX_MINOR`].
    pub fn to_minor(&self) -> Option<i64> {
        // Held at the currency's scale, the mantissa is the minor units.
        i64::try_from(self.amount.mantissa()).ok()
    }

    /// True for exactly zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// True below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            });
        }
        Ok(())
    }

    /// `self + other`; a typed error for different currencies or overflow.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow { what: "addition" })?;
        Self::exact(sum, self.currency).ok_or(MoneyError::Overflow { what: "addition" })
    }

    /// `self - other`; a typed error for different currencies or overflow.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let diff = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow {
                what: "subtraction",
            })?;
        Self::exact(diff, self.currency).ok_or(MoneyError::Overflow {
            what: "subtraction",
        })
    }

    /// Compares two amounts of the same currency.
    pub fn checked_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Sums `items`, all of which must be in `currency` (an empty sum is zero).
    pub fn sum<'a, I>(currency: Currency, items: I) -> Result<Money, MoneyError>
    where
        I: IntoIterator<Item = &'a Money>,
    {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// `self × factor`, rounded half-to-even to the minor unit.
    pub fn mul_round(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let raw = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow {
                what: "multiplication",
            })?;
        Self::exact(round_minor(raw, self.currency), self.currency).ok_or(MoneyError::Overflow {
            what: "multiplication",
        })
    }

    /// Splits `self` into parts proportional to `weights` whose sum is exactly
    /// `self`, by the largest-remainder method over minor units.
    ///
    /// Each part first gets the floor of its exact share; the minor units left
    /// over go one each to the parts with the largest fractional remainders,
    /// ties to the earlier part. With all weights zero the split is even.
    /// Weights must not be negative; the amount must not be negative.
    pub fn allocate(&self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Err(ValidationError::new(
                "weights",
                Reason::Inconsistent {
                    detail: "at least one share is needed".into(),
                },
            )
            .into());
        }
        if weights.iter().any(|w| w.is_sign_negative() && !w.is_zero()) {
            return Err(ValidationError::new("weights", Reason::Negative).into());
        }
        if self.is_negative() {
            return Err(ValidationError::new("amount", Reason::Negative).into());
        }
        let total_minor = self
            .to_minor()
            .ok_or(MoneyError::Overflow { what: "allocation" })?;
        let all_zero = weights.iter().all(Decimal::is_zero);
        let weights: Vec<Decimal> = if all_zero {
            vec![Decimal::ONE; weights.len()]
        } else {
            weights.to_vec()
        };
        let weight_sum = weights
            .iter()
            .try_fold(Decimal::ZERO, |a, w| a.checked_add(*w))
            .ok_or(MoneyError::Overflow { what: "allocation" })?;
        let total = Decimal::from(total_minor);
        let mut parts = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        let mut given: i64 = 0;
        for (i, w) in weights.iter().enumerate() {
            // share = total * w / sum, split into whole minor units and a
            // remainder; computed as (total * w) div/mod sum to stay exact.
            let num = total
                .checked_mul(*w)
                .ok_or(MoneyError::Overflow { what: "allocation" })?;
            let whole = (num / weight_sum).floor();
            let rem = num - whole * weight_sum;
            let whole_i =
                i64::try_from(whole).map_err(|_| MoneyError::Overflow { what: "allocation" })?;
            given += whole_i;
            parts.push(whole_i);
            remainders.push((rem, i));
        }
        let mut left = total_minor - given;
        // Largest remainder first; among equals, the earlier part.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders {
            if left <= 0 {
                break;
            }
            parts[i] += 1;
            left -= 1;
        }
        Ok(parts
            .into_iter()
            .map(|minor| Money::from_minor(minor, self.currency))
            .collect())
    }
}

/// Rounds `amount` to `currency`'s minor unit, half to even: the crate's one
/// rounding rule.
pub fn round_minor(amount: Decimal, currency: Currency) -> Decimal {
    amount.round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointNearestEven)
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{} {}", self.amount, self.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn code_lists_are_three_letters_and_single_spaces() {
        // `Currency::parse` reads the list in four-byte strides (the
        // exponent lists are held to the same shape, for this test's split).
        for list in [CODES, EXPONENT_0, EXPONENT_3, EXPONENT_4] {
            for (i, code) in list.split(' ').enumerate() {
                assert_eq!(code.len(), 3, "{code:?}");
                assert!(code.bytes().all(|b| b.is_ascii_uppercase()), "{code:?}");
                assert_eq!(list.get(i * 4..i * 4 + 3), Some(code));
            }
            assert_eq!(list.len() % 4, 3);
        }
        // `Currency::parse` binary-searches the full list.
        let codes: Vec<&str> = CODES.split(' ').collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "CODES is sorted");
        for code in CODES.split(' ') {
            let c = Currency::parse(code).unwrap();
            let expected = if EXPONENT_0.split(' ').any(|e| e == code) {
                0
            } else if EXPONENT_3.split(' ').any(|e| e == code) {
                3
            } else if EXPONENT_4.split(' ').any(|e| e == code) {
                4
            } else {
                2
            };
            assert_eq!((c.code(), c.exponent()), (code, expected));
        }
        // Strides never straddle two codes.
        assert!(Currency::parse("EDA").is_err());
        assert!(Currency::parse("D A").is_err());
    }

    #[test]
    fn currency_parse_and_exponents() {
        assert_eq!(Currency::parse("usd").expect("valid"), Currency::USD);
        assert_eq!(Currency::parse("JPY").expect("valid").exponent(), 0);
        assert_eq!(Currency::parse("KWD").expect("valid").exponent(), 3);
        assert!(matches!(
            Currency::parse("XYZ").expect_err("unknown").reason(),
            Reason::Unknown { .. }
        ));
        assert!(matches!(
            Currency::parse("US").expect_err("short").reason(),
            Reason::Format { .. }
        ));
    }

    #[test]
    fn precision_is_checked_against_the_minor_unit() {
        assert!(Money::new(dec!(19.99), Currency::USD).is_ok());
        assert!(Money::new(dec!(19.990), Currency::USD).is_ok());
        let err = Money::new(dec!(19.999), Currency::USD).expect_err("too precise");
        assert_eq!(err.reason(), &Reason::Precision { max_scale: 2 });
        assert!(Money::new(dec!(5.5), Currency::JPY).is_err());
        assert_eq!(
            Money::price("price", dec!(-1), Currency::USD)
                .expect_err("negative")
                .reason(),
            &Reason::Negative
        );
    }

    #[test]
    fn equal_amounts_are_equal_whatever_their_scale() {
        let a = Money::new(dec!(10), Currency::USD).expect("valid");
        let b = Money::new(dec!(10.00), Currency::USD).expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "10.00 USD");
    }

    #[test]
    fn currencies_never_mix() {
        let usd = Money::from_minor(100, Currency::USD);
        let eur = Money::from_minor(100, Currency::EUR);
        assert!(matches!(
            usd.checked_add(&eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert!(matches!(
            usd.checked_sub(&eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert!(matches!(
            Money::sum(Currency::USD, [&usd, &eur]),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn overflow_is_typed() {
        let max = Money::from_minor(MAX_MINOR, Currency::JPY);
        assert!(matches!(
            max.checked_add(&Money::from_minor(1, Currency::JPY)),
            Err(MoneyError::Overflow { .. })
        ));
        let min = Money::from_minor(MIN_MINOR, Currency::JPY);
        assert!(matches!(
            min.checked_sub(&Money::from_minor(1, Currency::JPY)),
            Err(MoneyError::Overflow { .. })
        ));
        assert!(matches!(
            max.mul_round(dec!(2)),
            Err(MoneyError::Overflow { .. })
        ));
    }

    #[test]
    fn amounts_beyond_the_stored_range_are_refused_not_panicked_on() {
        // Decimal::MAX cannot be held to the cent: refused, not stored short.
        let e = Money::new(Decimal::MAX, Currency::USD).expect_err("too large");
        assert_eq!(e.field(), "amount");
        assert!(matches!(e.reason(), Reason::OutOfRange { .. }));
        // Nor can a yen amount past what a 64-bit store column holds.
        let past = Decimal::from(MAX_MINOR) + Decimal::ONE;
        let e = Money::new(past, Currency::JPY).expect_err("too large");
        assert_eq!(
            e.reason(),
            &Reason::OutOfRange {
                min: MIN_MINOR.to_string(),
                max: MAX_MINOR.to_string(),
            }
        );
        assert!(Money::new(Decimal::from(MIN_MINOR) - Decimal::ONE, Currency::JPY).is_err());
        // The ends of the range are accepted and convert exactly.
        let max = Money::new(Decimal::new(MAX_MINOR, 2), Currency::USD).expect("fits");
        assert_eq!(max.to_minor(), Some(MAX_MINOR));
        assert_eq!(max.to_string(), "92233720368547758.07 USD");
        let min = Money::new(Decimal::from(MIN_MINOR), Currency::JPY).expect("fits");
        assert_eq!(min.to_minor(), Some(MIN_MINOR));
        // Written in the finest unit allowed, the largest amount still fits.
        let kwd = Currency::parse("KWD").expect("valid");
        assert_eq!(
            Money::new(Decimal::new(MAX_MINOR, 3), kwd)
                .expect("fits")
                .to_minor(),
            Some(MAX_MINOR)
        );
    }

    #[test]
    fn deserializing_checks_the_minor_unit() {
        let ok: Money =
            serde_json::from_str(r#"{"amount":"19.9","currency":"USD"}"#).expect("valid");
        assert_eq!(ok, Money::from_minor(1990, Currency::USD));
        assert!(serde_json::from_str::<Money>(r#"{"amount":"19.999","currency":"USD"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XYZ"}"#).is_err());
    }

    #[test]
    fn rounding_is_half_to_even() {
        let m = Money::from_minor(1, Currency::USD); // 0.01
        assert_eq!(m.mul_round(dec!(0.5)).expect("ok").amount(), dec!(0.00));
        let m = Money::from_minor(3, Currency::USD); // 0.03
        assert_eq!(m.mul_round(dec!(0.5)).expect("ok").amount(), dec!(0.02));
    }

    #[test]
    fn allocate_largest_remainder() {
        let total = Money::from_minor(100, Currency::USD);
        let parts = total.allocate(&[dec!(1), dec!(1), dec!(1)]).expect("ok");
        let minors: Vec<i64> = parts.iter().filter_map(Money::to_minor).collect();
        assert_eq!(minors, vec![34, 33, 33]);
        let parts = total.allocate(&[dec!(0), dec!(0)]).expect("even");
        assert_eq!(parts[0].to_minor(), Some(50));
        assert!(total.allocate(&[]).is_err());
        assert!(total.allocate(&[dec!(-1)]).is_err());
    }

    proptest! {
        #[test]
        fn allocation_sums_exactly(
            total in 0i64..10_000_000,
            weights in proptest::collection::vec(0u32..100_000, 1..40),
        ) {
            let money = Money::from_minor(total, Currency::USD);
            let ws: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w)).collect();
            let parts = money.allocate(&ws).expect("allocates");
            prop_assert_eq!(parts.len(), ws.len());
            let sum: i64 = parts.iter().map(|p| p.to_minor().expect("fits")).sum();
            prop_assert_eq!(sum, total);
            // Each part is within one minor unit of its exact share.
            let wsum: u64 = weights.iter().map(|w| u64::from(*w)).sum();
            for (p, w) in parts.iter().zip(&weights) {
                let exact = if wsum == 0 {
                    Decimal::from(total) / Decimal::from(weights.len())
                } else {
                    Decimal::from(total) * Decimal::from(*w) / Decimal::from(wsum)
                };
                let diff = (Decimal::from(p.to_minor().expect("fits")) - exact).abs();
                prop_assert!(diff < Decimal::ONE);
            }
        }

        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            let x = Money::from_minor(a, Currency::EUR);
            let y = Money::from_minor(b, Currency::EUR);
            prop_assert_eq!(x.checked_add(&y).and_then(|s| s.checked_sub(&y)).expect("ok"), x);
        }
    }

    #[test]
    fn a_currency_shows_its_code_in_debug_and_display() {
        assert_eq!(format!("{:?}", Currency::USD), "USD");
        assert_eq!(
            format!("{:?}", Money::from_minor(4900, Currency::USD)),
            "Money(49.00 USD)"
        );
        assert_eq!(format!("{}", Currency::EUR), "EUR");
    }

    #[test]
    fn the_left_over_cent_goes_to_the_largest_remainder_not_the_largest_share() {
        // 2 cents by 5:2 are 1.43 and 0.57 cents: the whole parts are 1 and
        // 0, and the cent left over goes to the 0.57.
        let parts = Money::from_minor(2, Currency::USD)
            .allocate(&[dec!(5), dec!(2)])
            .expect("allocates");
        let minor: Vec<i64> = parts.iter().filter_map(Money::to_minor).collect();
        assert_eq!(minor, [1, 1]);
    }
}
