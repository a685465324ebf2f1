//! Traffic Light Protocol 2.0 and the Permissible Actions Protocol.

crate::wire_enum! {
    /// TLP 2.0 (FIRST). Ordered from least to most restrictive.
    Tlp, "TLP" {
        Clear => "clear",
        Green => "green",
        Amber => "amber",
        AmberStrict => "amber+strict",
        Red => "red",
    }
}

crate::wire_enum! {
    /// PAP: what the recipient may *do* with the information.
    Pap, "PAP" {
        Clear => "clear",
        Green => "green",
        Amber => "amber",
        Red => "red",
    }
}

impl Tlp {
    /// The label as printed on documents, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> String {
        format!("TLP:{}", self.as_str().to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_parses_its_own_names_and_orders_by_restriction() {
        for t in Tlp::ALL {
            assert_eq!(t.as_str().parse::<Tlp>().unwrap(), *t);
        }
        assert!(Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
        assert_eq!(Tlp::AmberStrict.label(), "TLP:AMBER+STRICT");
        let err = "white".parse::<Tlp>().unwrap_err();
        assert!(err.to_string().contains("amber+strict"), "{err}");
    }
}
