use super::*;
use rust_decimal_macros::dec;

#[test]
fn money_rounds_to_the_currencys_minor_unit() {
    assert_eq!(minor_units("BRL"), 2);
    assert_eq!(minor_units("JPY"), 0);
    assert_eq!(minor_units("KWD"), 3);
    assert_eq!(minor_units("XYZ"), 2, "an unknown code keeps cents");
    assert_eq!(round_money(dec!(1234.5), 0).to_string(), "1235");
    assert_eq!(round_money(dec!(1.0005), 3).to_string(), "1.001");
    assert_eq!(round_money(dec!(2.005), 2).to_string(), "2.01");
    assert_eq!(round_money(dec!(7), 2).to_string(), "7.00");
    assert!(rounding_rule(0).contains("rounded to 1,"));
    assert!(rounding_rule(3).contains("rounded to 0.001,"));
    assert!(rounding_rule(2).contains("rounded to 0.01,"));
}
