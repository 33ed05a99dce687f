"""The ground floor: facts and plumbing every other room stands on, importing nothing of the
project (errors and exit codes, Microsoft ids and lifetimes, clouds and endpoints, Azure naming
rules, Pulumi resource-type markers, the AADSTS advice table, network plumbing)."""
