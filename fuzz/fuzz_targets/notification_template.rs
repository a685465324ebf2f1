#![no_main]
//! Templates are typed by coordinators in the UI; compiling and rendering any text
//! must give a result or a clear error.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        use rampart_notify::template::{compile, Template, TemplateContext};
        let (subject, body) = text.split_once('\n').unwrap_or((text, ""));
        if let Ok(compiled) = compile(&Template { subject: subject.into(), body: body.into() }) {
            let _ = compiled.render(&TemplateContext { vars: Default::default(), events: Vec::new() });
        }
    }
});
