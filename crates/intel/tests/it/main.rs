//! STIX 2.1 validation against the official examples, and the warninglists of MISP/misp-warninglists (`../shared/testdata/misp/warninglists/`),
//! all five match types, loaded and checked as MISP would.

mod correlation;
mod misp;
mod pattern;
mod stix;
mod warninglists;
