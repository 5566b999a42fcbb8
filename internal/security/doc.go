// Package security authenticates clients: TLS listener configuration from
// Kafka's ssl.* settings (PEM key and trust stores) and the server side of
// the SASL mechanisms PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
//
// It knows nothing of the wire protocol: the SaslHandshake and
// SaslAuthenticate handlers feed it the client's tokens and send back what
// it returns. SCRAM credentials live in a CredentialStore (the metadata
// log); PLAIN users come from the listener's JAAS configuration, as in
// Kafka. There is no authorization: an authenticated client may do
// everything a PLAINTEXT client may.
package security
