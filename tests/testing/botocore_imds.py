#!/usr/bin/python3
"""Prints the instance role credentials botocore's IMDS fetcher gets.

Usage: botocore_imds.py BASE_URL
Prints access key, secret key, token and expiry time, one per line, as
botocore.utils.InstanceMetadataFetcher.retrieve_iam_role_credentials()
returns them (IMDSv2: it asks for a session token first).
"""
import sys

from botocore.utils import InstanceMetadataFetcher


def main():
    fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=2, base_url=sys.argv[1])
    credentials = fetcher.retrieve_iam_role_credentials()
    if not credentials:
        sys.exit('botocore got no role credentials from ' + sys.argv[1])
    print(credentials['access_key'])
    print(credentials['secret_key'])
    print(credentials['token'])
    print(credentials['expiry_time'])


if __name__ == '__main__':
    main()
