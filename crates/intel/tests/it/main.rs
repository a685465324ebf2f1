//! The warninglists of MISP/misp-warninglists (`../shared/testdata/misp/warninglists/`),
//! all five match types, loaded and checked as MISP would.

mod warninglists;
