"""Network plumbing shared by every client: one HTTP session/transport with our timeouts and
retries, the discovery cache MSAL and azure-identity share, one credential builder, one Graph
client, and the one failure classifier."""
