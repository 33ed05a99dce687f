"""The offline engines: the Pulumi mock engine the plan runs the program under, and the demo
world on the local cloud double. The only rooms that may import `infra.program` or `clouddouble`."""
