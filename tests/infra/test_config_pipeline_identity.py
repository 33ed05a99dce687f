"""Stack config validation of the pipeline identity: its issuer, subject, audience (which follows
the configured cloud) and name, every bad field reported at once."""

from __future__ import annotations

import json

import pytest

from infra.config import config_values_from_stack_file, parse_config
from infra.pipeline_config import PipelineIdentity
from tests.infra.base_config import BASE, TODAY
from tests.infra.config_parsing import parse, problems

GITHUB = "https://token.actions.githubusercontent.com"
MAIN = "repo:contoso/csp-secure-app:ref:refs/heads/main"


def pipeline(**fields: object) -> str:
    return json.dumps({"issuer": GITHUB, "subject": MAIN, **fields})


def test_pipeline_identity_gets_the_clouds_exchange_audience_by_default() -> None:
    identity = parse(pipelineIdentity=pipeline()).pipeline_identity
    assert identity == PipelineIdentity(
        issuer=GITHUB, subject=MAIN, audience="api://AzureADTokenExchange"
    )
    china = parse(pipelineIdentity=pipeline(), cloud="china").pipeline_identity
    assert china is not None and china.audience == "api://AzureADTokenExchangeChina"
    named = parse(pipelineIdentity=pipeline(name="GitOps (prod)")).pipeline_identity
    assert named is not None and named.name == "GitOps (prod)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("repo:contoso/app", "is not a map"),
        (pipeline(subjet=MAIN), "did you mean 'subject'?"),
        (json.dumps({"subject": MAIN}), "issuer is required"),
        (pipeline(issuer="http://token.actions.githubusercontent.com"), "not an https URL"),
        (pipeline(issuer="token.actions.githubusercontent.com"), "not an https URL"),
        (pipeline(issuer=f"{GITHUB}?x=1"), "query or fragment"),
        (pipeline(issuer=f"{GITHUB} "), "surrounding spaces"),
        (pipeline(subject=""), "subject is required"),
        (pipeline(subject=f" {MAIN}"), "surrounding spaces"),
        (pipeline(subject="repo:contoso/*:ref:refs/heads/main"), "does not expand"),
        (pipeline(subject="x" * 601), "longer than 600"),
        (pipeline(subject=["a", "b"]), "subject is not text"),
        (pipeline(audience="api://AzureADTokenExchangeUSGov"), "is the usgov cloud's"),
        (pipeline(audience="https://github.com/contoso"), "not Entra ID's token exchange audience"),
        (pipeline(name="x" * 121), "1-120 characters"),
    ],
)
def test_pipeline_identity_rules_one_line_each(value: str, message: str) -> None:
    (line,) = problems(pipelineIdentity=value)
    assert line.startswith("csp-secure-app:pipelineIdentity: ")
    assert message in line


def test_pipeline_identity_reports_every_bad_field_at_once() -> None:
    lines = problems(pipelineIdentity=pipeline(issuer="http://x", subject="", audience="aud"))
    assert len(lines) == 3
    assert all(line.startswith("csp-secure-app:pipelineIdentity: ") for line in lines)
    assert [line.split(": ")[1].split()[0] for line in lines] == ["issuer", "subject", "audience"]


def test_pipeline_audience_follows_the_configured_cloud() -> None:
    (line,) = problems(
        cloud="usgov", pipelineIdentity=pipeline(audience="api://AzureADTokenExchange")
    )
    assert "is the public cloud's" in line and "api://AzureADTokenExchangeUSGov" in line
    cfg = parse(
        cloud="usgov", pipelineIdentity=pipeline(audience="api://AzureADTokenExchangeUSGov")
    )
    assert cfg.pipeline_identity is not None


def test_a_bad_cloud_is_reported_once_not_again_through_the_pipeline_audience() -> None:
    lines = problems(
        cloud="AzureUSGovernment",
        pipelineIdentity=pipeline(audience="api://AzureADTokenExchangeUSGov"),
    )
    assert [line.split(":")[1] for line in lines] == ["cloud"]


def test_stack_file_structured_pipeline_identity_is_read_like_pulumi_config() -> None:
    values = config_values_from_stack_file(
        {
            **{f"csp-secure-app:{k}": v for k, v in BASE.items()},
            "csp-secure-app:pipelineIdentity": {"issuer": GITHUB, "subject": MAIN},
        }
    )
    identity = parse_config(values, today=TODAY).pipeline_identity
    assert identity is not None and identity.subject == MAIN
