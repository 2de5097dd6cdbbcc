//! The EVE API messages, one module a protobuf package
//! (`org.lfedge.eve.<name>`), as prost generates them.

/// Generated code is kept as prost writes it.
macro_rules! package {
    ($name:ident, $file:literal) => {
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}

package!(attest, "org.lfedge.eve.attest.rs");
package!(auth, "org.lfedge.eve.auth.rs");
package!(certs, "org.lfedge.eve.certs.rs");
package!(common, "org.lfedge.eve.common.rs");
package!(config, "org.lfedge.eve.config.rs");
package!(info, "org.lfedge.eve.info.rs");
package!(logs, "org.lfedge.eve.logs.rs");
package!(metrics, "org.lfedge.eve.metrics.rs");
package!(register, "org.lfedge.eve.register.rs");
package!(uuid, "org.lfedge.eve.uuid.rs");

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::config::ConfigRequest;

    #[test]
    fn config_request_is_encoded_with_the_protocol_field_numbers() {
        let request = ConfigRequest {
            config_hash: "ab".to_owned(),
            integrity_token: vec![7],
        };
        // Field 1 (configHash) length-delimited, then field 2 (integrity_token).
        assert_eq!(request.encode_to_vec(), [0x0a, 2, b'a', b'b', 0x12, 1, 7]);
    }
}
