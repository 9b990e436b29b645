#!/usr/bin/python3
"""Signs requests with botocore's SigV4Auth, for tests/aws_sigv4_test.cpp.

Reads one request per line from the file named by argv[1]; each line is
space-separated fields, each 'x' followed by the field's bytes in hex:
  method url body region service access-key secret token unix-seconds, then a count of query parameters and key/value pairs, then a count of
  headers and name/value pairs.
Prints, per line, the Authorization header botocore computes for that request
at that time (botocore's clock is pinned to the given second).
"""
import datetime
import sys
import types

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class _PinnedDatetime(datetime.datetime):
    pinned = None

    @classmethod
    def utcnow(cls):
        return cls.pinned


botocore.auth.datetime = types.SimpleNamespace(datetime=_PinnedDatetime)


class _Pairs(list):
    """Query parameters that may repeat a key; AWSRequest wants .items()."""

    def items(self):
        return list(self)


def raw(field):
    return bytes.fromhex(field[1:])


def text(field):
    return raw(field).decode('utf-8')


def main():
    out = []
    with open(sys.argv[1]) as requests:
        for line in requests:
            fields = line.split()
            if not fields:
                continue
            method, url = text(fields[0]), text(fields[1])
            body = raw(fields[2])
            region, service = text(fields[3]), text(fields[4])
            access_key, secret, token = text(fields[5]), text(fields[6]), text(fields[7])
            seconds = int(text(fields[8]))
            i = 9
            params = _Pairs()
            for _ in range(int(text(fields[i]))):
                params.append((text(fields[i + 1]), text(fields[i + 2])))
                i += 2
            i += 1
            headers = {}
            for _ in range(int(text(fields[i]))):
                headers[text(fields[i + 1])] = text(fields[i + 2])
                i += 2
            request = AWSRequest(method=method, url=url, data=body, params=params,
                                 headers=headers)
            _PinnedDatetime.pinned = datetime.datetime.utcfromtimestamp(seconds)
            credentials = Credentials(access_key, secret, token or None)
            botocore.auth.SigV4Auth(credentials, service, region).add_auth(request)
            out.append(request.headers['Authorization'])
    sys.stdout.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
