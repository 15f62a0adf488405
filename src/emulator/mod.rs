//! A faithful Google Calendar v3 emulator: the offline sandbox, the demo's "Google" and the tests' peer.
