"""Tests of mlgov.tokens: literal credentials are recognised, references and plain values are not.

Every token is built at run time (`fake_jwt`, `fake_pat`, string arithmetic); no literal credential
appears in this file.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from mlgov.replay import fake_jwt, fake_pat
from mlgov.tokens import classify, decode_jwt, is_secret_reference, parse_azureml_uri, strip_credentials

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _seg(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_jwt_claims_are_read_without_verification() -> None:
    """exp, iat, aud, iss, tid and appid come from the payload; the signature is not checked."""
    value = fake_jwt(exp=NOW - timedelta(days=2), aud="https://management.azure.com/", appid="app-1")
    facts = classify("MLFLOW_TRACKING_TOKEN", value)
    assert facts is not None
    assert facts.kind == "jwt"
    assert facts.expires_at == NOW - timedelta(days=2)
    assert facts.issued_at == NOW - timedelta(days=2, hours=1)
    assert facts.audience == "https://management.azure.com/"
    assert facts.issuer == "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"
    assert facts.tenant_id == "00000000-0000-0000-0000-000000000000"
    assert facts.app_id == "app-1"
    assert facts.length == len(value)


def test_jwt_is_recognised_under_any_key() -> None:
    """A JWT is a credential whatever the variable is called."""
    facts = classify("SOME_SETTING", fake_jwt(exp=NOW))
    assert facts is not None and facts.kind == "jwt"


def test_jwt_audience_list_and_azp_fallback() -> None:
    """A list audience is joined; `azp` stands in for `appid` (v2 tokens)."""
    value = f"{_seg({'alg': 'RS256'})}.{_seg({'aud': ['a', 'b'], 'azp': 'client-2', 'exp': 1_800_000_000})}.sig"
    facts = decode_jwt(value)
    assert facts is not None
    assert facts.audience == "a,b"
    assert facts.app_id == "client-2"


@pytest.mark.parametrize(
    "value",
    [
        "eyJhbGciOi.not-base64.x",  # second segment is not a JSON payload
        "eyJhbGciOi.eyJ!!!.x",  # characters outside base64url
        "eyJabc.eyJdef.ghi",  # base64url-shaped garbage
        f"{_seg({'typ': 'JWT'})}.{_seg({'exp': 1})}.x",  # header without alg
        f"{_seg({'alg': 'none'})}.{_seg([1, 2])}.x",  # payload not an object
        f"{_seg({'alg': 'none'})}.{_seg({'exp': 'tomorrow'})}.x",  # exp not a number
    ],
)
def test_jwt_lookalikes_do_not_crash_and_are_not_expired_jwts(value: str) -> None:
    """Values shaped like JWTs that do not decode are not read as JWTs with an expiry."""
    facts = decode_jwt(value)
    assert facts is None or facts.expires_at is None
    under_secret_name = classify("MLFLOW_TRACKING_TOKEN", value)
    assert under_secret_name is not None
    assert under_secret_name.kind in ("named_secret", "jwt")
    assert under_secret_name.expires_at is None


def test_jwt_lookalike_under_a_plain_name_is_not_a_credential() -> None:
    """Shape alone does not make a credential when the key is not secret-like and nothing decodes."""
    assert classify("NOTEBOOK_PARAM", "eyJhbGciOi.not-base64.x") is None


def test_out_of_range_exp_is_ignored() -> None:
    """An exp in milliseconds (or absurdly large) gives no expiry rather than an error."""
    value = f"{_seg({'alg': 'none'})}.{_seg({'exp': 1_800_000_000_000})}.x"
    facts = decode_jwt(value)
    assert facts is not None and facts.expires_at is None


def test_bearer_prefix_is_unwrapped() -> None:
    """`Bearer <jwt>` is the JWT; `Bearer <pat>` is the PAT; an unknown bearer value is a bearer token."""
    jwt = classify("Authorization", "Bearer " + fake_jwt(exp=NOW))
    pat = classify("Authorization", "bearer " + fake_pat("x"))
    other = classify("Authorization", "Bearer opaque-value-1234")
    assert jwt is not None and jwt.kind == "jwt"
    assert pat is not None and pat.kind == "databricks_pat"
    assert other is not None and other.kind == "bearer" and other.length == len("opaque-value-1234")


@pytest.mark.parametrize("inner", ["{{secrets/api/token}}", "${API_TOKEN}", "<token>", "***"])
def test_bearer_with_a_reference_is_not_a_credential(inner: str) -> None:
    """`Bearer {{secrets/...}}` or `Bearer ${VAR}` is a reference, the compliant form."""
    assert classify("Authorization", f"Bearer {inner}") is None


def test_databricks_and_github_pats() -> None:
    """PAT shapes are recognised by value, including the `-N` suffix of Databricks PATs."""
    for value in (fake_pat("a"), fake_pat("b") + "-2"):
        facts = classify("ANY", value)
        assert facts is not None and facts.kind == "databricks_pat"
    github = classify("ANY", "ghp_" + "A1" * 18)
    fine_grained = classify("ANY", "github_pat_" + "b" * 50)
    assert github is not None and github.kind == "github_pat"
    assert fine_grained is not None and fine_grained.kind == "github_pat"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:" + "pw" * 5 + "@git.example.com/org/repo.git",
        "https://" + "t" * 24 + "@github.com/contoso/etl.git",
        "jdbc:sqlserver://user:" + "pw" * 5 + "@db.example.com:1433",
    ],
)
def test_credentials_in_urls(url: str) -> None:
    """user:password@ and long token user names in URLs are credentials."""
    facts = classify("REPO", url)
    assert facts is not None and facts.kind == "credential_in_url"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/contoso/etl.git",
        "https://alice@dev.azure.com/org/project/_git/repo",  # a short user name is not a token
        "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/r"
        "/providers/Microsoft.MachineLearningServices/workspaces/w",
        "databricks://profile",
    ],
)
def test_urls_without_credentials(url: str) -> None:
    """Plain URLs, including MLflow tracking URIs, are not credentials."""
    assert classify("REPO", url) is None


@pytest.mark.parametrize(
    "key", ["DB_PASSWORD", "API_KEY", "client_secret", "spark.hadoop.sas.token", "STORAGE_ACCESS_KEY"]
)
def test_named_secrets(key: str) -> None:
    """A literal under a secret-like name is a credential even with an unknown shape."""
    facts = classify(key, "s3cr3t-" + "v" * 10)
    assert facts is not None and facts.kind == "named_secret"


@pytest.mark.parametrize(
    "value",
    [
        "{{secrets/scope/key}}",
        "{{ secrets/scope/key }}",
        "${DB_PASSWORD}",
        "true",
        "False",
        "none",
        "8080",
        "0",
        "/dbfs/mnt/config/password.txt",
        "dbfs:/secrets/path",
        "abfss://container@account.dfs.core.windows.net/path",
        "https://vault.example.net/secrets/db",
        "<password>",
        "changeme",
        "********",
        "a value with spaces",
        "",
        "   ",
    ],
)
def test_plain_values_under_secret_names_are_not_credentials(value: str) -> None:
    """References, placeholders, booleans, numbers and paths are configuration, not secrets."""
    assert classify("DB_PASSWORD", value) is None


@pytest.mark.parametrize("key", ["PATH", "MODE", "SECRETARY", "TOKENIZER", "NUM_TOKENS_MAX"])
def test_ordinary_names_do_not_make_a_secret(key: str) -> None:
    """Only whole-word secret names count (TOKENIZER is not TOKEN)."""
    assert classify(key, "some-value-123") is None


@pytest.mark.parametrize("value", [None, 123, 4.5, True, ["a"], {"k": "v"}])
def test_non_strings_are_never_credentials(value: object) -> None:
    """Collectors may pass any JSON value; only strings are classified."""
    assert classify("TOKEN", value) is None


def test_secret_reference_shape() -> None:
    """Only a whole `{{secrets/<scope>/<key>}}` value is a reference."""
    assert is_secret_reference("{{secrets/a/b}}")
    assert is_secret_reference("  {{ secrets/a-b/c.d }}  ")
    assert not is_secret_reference("prefix {{secrets/a/b}}")
    assert not is_secret_reference("{{secrets/a}}")


def test_parse_azureml_uri_and_strip_credentials() -> None:
    """An azureml:// URI yields its workspace ARM id and host; credentials and queries never print."""
    uri = (
        "azureml://westeurope.api.azureml.ms/mlflow/v2.0/subscriptions/sub-1/resourceGroups/rg-1"
        "/providers/Microsoft.MachineLearningServices/workspaces/ws-1?x=1"
    )
    parsed = parse_azureml_uri(uri)
    assert parsed == (
        "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1",
        "westeurope.api.azureml.ms",
    )
    assert parse_azureml_uri("https://example.com") is None
    assert strip_credentials("https://user:pw@host.example:8443/a/b?sig=zzz") == "https://host.example:8443/a/b"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("jdbc:sqlserver://db.example.com:1433;database=sales;user=etl;password=" + "p" * 12, "credential_in_url"),
        ("Server=tcp:db.example.com;Database=sales;User ID=etl;Pwd=" + "p" * 12 + ";", "named_secret"),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + "k" * 16 + ";EndpointSuffix=x",
            "named_secret",
        ),
        ("Endpoint=sb://ns.example.net/;SharedAccessKeyName=send;SharedAccessKey=" + "k" * 16, "named_secret"),
        ("https://acct.blob.core.windows.net/data?sv=2022-11-02&sp=r&sig=" + "s" * 8, "credential_in_url"),
    ],
    ids=["jdbc-password", "odbc-pwd", "storage-account-key", "service-bus-key", "sas-url"],
)
def test_secrets_embedded_in_connection_strings_and_sas_urls(value: str, kind: str) -> None:
    """A password, account key or SAS signature inside a longer value is found whatever the key is called."""
    facts = classify("spark.some.setting", value)
    assert facts is not None and facts.kind == kind


@pytest.mark.parametrize(
    "value",
    [
        "jdbc:sqlserver://db.example.com:1433;database=sales;user=etl;password={{secrets/db/pw}}",
        "jdbc:sqlserver://db.example.com:1433;database=sales;user=etl;password=${DB_PASSWORD}",
        "Server=db;Pwd=<your password>;",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=;",
        "jdbc:sqlserver://db.example.com:1433;database=sales;authentication=ActiveDirectoryMSI",
        "https://acct.blob.core.windows.net/data/file.csv",
    ],
)
def test_connection_strings_without_a_literal_secret(value: str) -> None:
    """References, placeholders, empty values and identity-based connection strings are fine."""
    assert classify("spark.some.setting", value) is None


def test_jdbc_url_with_user_and_password_before_host() -> None:
    """`jdbc:mysql://user:password@host` carries the password in the URL."""
    facts = classify("URL", "jdbc:mysql://etl:" + "pw" * 5 + "@db.example.com:3306/sales")
    assert facts is not None and facts.kind == "credential_in_url"
