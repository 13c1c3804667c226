#!/usr/bin/env python3
"""botocore-sign.py: signs S3 requests with Debian's python3-botocore, for the SigV4 cross-check.

Reads one request per line on stdin, tab-separated, every field hex-encoded UTF-8:
  mode(header|presign) method endpoint bucket key query region access secret token unix_time expires
where query is "name=value" pairs joined by newlines (raw, unencoded). Prints one line per
request: for header, "SIGNATURE SIGNED_HEADERS"; for presign, the presigned URL's query string.
Keys and query values are percent-encoded the way botocore's S3 serializer does (RFC 3986,
'/' kept in keys), so the canonical encoding of both sides is compared too.
"""
import datetime
import sys
import types
import urllib.parse

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    real = datetime.datetime
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        f = [bytes.fromhex(x).decode("utf-8") for x in line.split("\t")]
        mode, method, endpoint, bucket, key, query, region, access, secret, token, when, expires = f
        fixed = real.utcfromtimestamp(int(when))

        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return fixed

        botocore.auth.datetime = types.SimpleNamespace(datetime=Fixed)
        path = "/" + bucket + "/" + urllib.parse.quote(key, safe="/~")
        pairs = [p.split("=", 1) for p in query.split("\n") if p]
        qs = "&".join(urllib.parse.quote(k, safe="-_.~") + "=" + urllib.parse.quote(v, safe="-_.~")
                      for k, v in pairs)
        url = endpoint + path + ("?" + qs if qs else "")
        creds = Credentials(access, secret, token or None)
        request = AWSRequest(method=method, url=url, headers={})
        if mode == "header":
            botocore.auth.S3SigV4Auth(creds, "s3", region).add_auth(request)
            auth = request.headers["Authorization"]
            sig = auth.split("Signature=")[1]
            signed = auth.split("SignedHeaders=")[1].split(",")[0]
            print(sig, signed)
        else:
            botocore.auth.S3SigV4QueryAuth(creds, "s3", region, expires=int(expires)).add_auth(request)
            print(urllib.parse.urlsplit(request.url).query)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
