//! OpenPGP keys for tests: a certifying primary key with a signing and an
//! encryption subkey, as GnuPG makes them.

use pgp::composed::{EncryptionCaps, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder};
use pgp::crypto::ecc_curve::ECCCurve;

pub fn key(uid: &str) -> SignedSecretKey {
    let mut sign = SubkeyParamsBuilder::default();
    sign.key_type(KeyType::Ed25519Legacy).can_sign(true).can_encrypt(EncryptionCaps::None).can_authenticate(false);
    let mut encrypt = SubkeyParamsBuilder::default();
    encrypt.key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy)).can_sign(false).can_encrypt(EncryptionCaps::All).can_authenticate(false);
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(false)
        .can_encrypt(EncryptionCaps::None)
        .primary_user_id(uid.into())
        .subkeys(vec![sign.build().unwrap(), encrypt.build().unwrap()]);
    params.build().unwrap().generate(rand08::thread_rng()).unwrap()
}

pub fn armored_secret(key: &SignedSecretKey) -> String {
    key.to_armored_string(Default::default()).unwrap()
}

pub fn armored_public(key: &SignedSecretKey) -> String {
    SignedPublicKey::from(key.clone()).to_armored_string(Default::default()).unwrap()
}
