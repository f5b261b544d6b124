//! `AWS_LWA_PASS_THROUGH_ROUTES` (`config::parse_routes`).
//!
//! Input: the variable's value (invalid UTF-8 replaced).
//!
//! Properties: never panics; an error names the item (`item "..."`); a
//! map that parses has non-empty sources of visible ASCII, paths starting
//! with `/`, no source twice (in any case), and written back as
//! `source=path,...` it parses to the same map; the `Config` built with it
//! routes each source to its path and anything else to the default.

#![no_main]

use lambda_adapter::config::parse_routes;
use lambda_adapter_fuzz::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let routes = match parse_routes(&value) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.starts_with("item \""), "{value:?}: {e}");
            return;
        }
    };
    for (i, (source, path)) in routes.iter().enumerate() {
        assert!(!source.is_empty() && source.bytes().all(|b| b.is_ascii_graphic()));
        assert!(path.starts_with('/'), "{value:?}: {path:?}");
        assert!(
            !routes[..i]
                .iter()
                .any(|(s, _)| s.eq_ignore_ascii_case(source)),
            "{value:?}: {source} twice"
        );
    }
    let written: Vec<String> = routes.iter().map(|(s, p)| format!("{s}={p}")).collect();
    assert_eq!(
        parse_routes(&written.join(",")).as_ref(),
        Ok(&routes),
        "{value:?}"
    );
    let cfg = config(&[("AWS_LWA_PASS_THROUGH_ROUTES", &value)]);
    for (source, path) in &routes {
        assert_eq!(cfg.pass_through_path_for(source), path);
    }
    if !routes
        .iter()
        .any(|(s, _)| s.eq_ignore_ascii_case("unknown"))
    {
        assert_eq!(cfg.pass_through_path_for("unknown"), "/events");
    }
});
