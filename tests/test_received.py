"""Received headers read as hops: the formats each MTA documents, table-driven, and
comments that do not close. A whole message read and judged: test_received_message.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from starttls_check.model.sending import HeaderFormat, HopTls
from starttls_check.policy.received import parse_hop

D = "; Tue, 1 Dec 2026 12:00:00 +0100"
CASES = [
    # (header, format, tls, version, cipher, from, by, protocol)
    (
        "from mail.example.org (mail.example.org [192.0.2.1]) (using TLSv1.3 with cipher "
        "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS "
        "(2048 bits) server-digest SHA256) (No client certificate requested) by mx.example.com "
        "(Postfix) with ESMTPS id 4Abc1x2yZz for <u@example.com>" + D,
        HeaderFormat.POSTFIX,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTPS",
    ),
    (
        "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.com (Postfix) "
        "with ESMTP id 4Abc1x2yZz for <u@example.com>" + D,
        HeaderFormat.POSTFIX,
        HopTls.NOT_USED,
        None,
        None,
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTP",
    ),
    (  # Postfix without smtpd_tls_received_header: the RFC 3848 keyword alone
        "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.com (Postfix) "
        "with ESMTPS id 4Abc1x2yZz" + D,
        HeaderFormat.POSTFIX,
        HopTls.USED,
        None,
        None,
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTPS",
    ),
    (
        "from mail.example.org ([192.0.2.1]) by mx.example.com with esmtps  (TLS1.3) tls "
        "TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@example.org>) id 1kXyZ-000abc-1Q "
        "for u@example.com" + D,
        HeaderFormat.EXIM,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org ([192.0.2.1])",
        "mx.example.com",
        "esmtps",
    ),
    (
        "from mail.example.org ([192.0.2.1]) by mx.example.com with esmtps "
        "(TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256) (Exim 4.90_1) id 1kXyZ-000abc-1Q" + D,
        HeaderFormat.EXIM,
        HopTls.USED,
        "TLSv1.2",
        "ECDHE_RSA_AES_256_GCM_SHA384",
        "mail.example.org ([192.0.2.1])",
        "mx.example.com",
        "esmtps",
    ),
    (
        "from mail.example.org ([192.0.2.1]) by mx.example.com with esmtp (Exim 4.96) "
        "(envelope-from <a@example.org>) id 1kXyZ-000abc-1Q" + D,
        HeaderFormat.EXIM,
        HopTls.NOT_USED,
        None,
        None,
        "mail.example.org ([192.0.2.1])",
        "mx.example.com",
        "esmtp",
    ),
    (
        "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.com "
        "(8.15.2/8.15.2/Debian-22) with ESMTPS id 0B1BX0aB012345 (version=TLSv1.3 "
        "cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT) for <u@example.com>" + D,
        HeaderFormat.SENDMAIL,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTPS",
    ),
    (
        "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.com "
        "(8.15.2/8.15.2) with ESMTP id 0B1BX0aB012345 for <u@example.com>" + D,
        HeaderFormat.SENDMAIL,
        HopTls.NOT_USED,
        None,
        None,
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTP",
    ),
    (
        "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.com (OpenSMTPD) "
        "with ESMTPS id 1a2b3c4d (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO) for <u@example.com>" + D,
        HeaderFormat.OPENSMTPD,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTPS",
    ),
    (
        "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.com (OpenSMTPD) "
        "with ESMTP id 1a2b3c4d for <u@example.com>" + D,
        HeaderFormat.OPENSMTPD,
        HopTls.NOT_USED,
        None,
        None,
        "mail.example.org (mail.example.org [192.0.2.1])",
        "mx.example.com",
        "ESMTP",
    ),
    (
        "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by "
        "mx.google.com with SMTPS id a1sor123.2026.12.01.03.00.00 for <u@gmail.com> "
        "(Google Transport Security)" + D,
        HeaderFormat.GMAIL,
        HopTls.USED,
        None,
        None,
        "mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])",
        "mx.google.com",
        "SMTPS",
    ),
    (
        "from mail.example.org (mail.example.org. [192.0.2.1]) by mx.google.com with ESMTPS id "
        "x1si1234.2026.12.01.03.00.00 for <u@gmail.com> (version=TLS1_3 "
        "cipher=TLS_AES_256_GCM_SHA384 bits=256/256)" + D,
        HeaderFormat.GMAIL,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org (mail.example.org. [192.0.2.1])",
        "mx.google.com",
        "ESMTPS",
    ),
    (
        "from mail.example.org (mail.example.org. [192.0.2.1]) by mx.google.com with ESMTP id "
        "x1si1234.2026.12.01.03.00.00 for <u@gmail.com>" + D,
        HeaderFormat.GMAIL,
        HopTls.NOT_USED,
        None,
        None,
        "mail.example.org (mail.example.org. [192.0.2.1])",
        "mx.google.com",
        "ESMTP",
    ),
    (  # Google Workspace's SMTP relay service
        "from host.example.org (host.example.org [192.0.2.1]) by smtp-relay.gmail.com with "
        "ESMTPS id a1-20020a05600c000100b0040e1234567sor.2026.12.01.03.00.00 for "
        "<u@example.com> (version=TLS1_2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 bits=128/128)" + D,
        HeaderFormat.GMAIL,
        HopTls.USED,
        "TLSv1.2",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "host.example.org (host.example.org [192.0.2.1])",
        "smtp-relay.gmail.com",
        "ESMTPS",
    ),
    (  # submission to Gmail: smtp.gmail.com
        "from [192.168.1.10] ([203.0.113.5]) by smtp.gmail.com with ESMTPSA id "
        "a1sm123456.2026.12.01.03.00.00 for <u@example.com> (version=TLS1_3 "
        "cipher=TLS_AES_256_GCM_SHA384 bits=256/256)" + D,
        HeaderFormat.GMAIL,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "[192.168.1.10] ([203.0.113.5])",
        "smtp.gmail.com",
        "ESMTPSA",
    ),
    (  # a name that merely ends like Google's is not Google
        "from a.example.org (a.example.org [192.0.2.1]) by mx.notgmail.com with ESMTP id 1" + D,
        HeaderFormat.UNKNOWN,
        HopTls.NOT_RECORDED,
        None,
        None,
        "a.example.org (a.example.org [192.0.2.1])",
        "mx.notgmail.com",
        "ESMTP",
    ),
    (  # Google's internal hop: no `from`, nothing a header can say about its transport
        "by 2002:a05:6a10:8e0b:b0:5a1:1234:abcd with SMTP id x11csp123456pxc" + D,
        HeaderFormat.GMAIL,
        HopTls.NOT_RECORDED,
        None,
        None,
        None,
        "2002:a05:6a10:8e0b:b0:5a1:1234:abcd",
        "SMTP",
    ),
    (
        "from mail.example.org (192.0.2.1) by DB5EUR01FT001.mail.protection.outlook.com "
        "(10.152.4.1) with Microsoft SMTP Server (version=TLS1_2, "
        "cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7654.10 via Frontend Transport" + D,
        HeaderFormat.MICROSOFT,
        HopTls.USED,
        "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "mail.example.org (192.0.2.1)",
        "DB5EUR01FT001.mail.protection.outlook.com",
        "Microsoft SMTP Server",
    ),
    (
        "from mail.example.org (192.0.2.1) by DB5EUR01FT001.mail.protection.outlook.com "
        "(10.152.4.1) with Microsoft SMTP Server id 15.20.7654.10 via Frontend Transport" + D,
        HeaderFormat.MICROSOFT,
        HopTls.NOT_USED,
        None,
        None,
        "mail.example.org (192.0.2.1)",
        "DB5EUR01FT001.mail.protection.outlook.com",
        "Microsoft SMTP Server",
    ),
    (  # Exchange 2010: TLS noted without details
        "from EX1.corp.example.com (10.0.0.5) by EX2.corp.example.com (10.0.0.6) with Microsoft "
        "SMTP Server (TLS) id 14.3.498.0" + D,
        HeaderFormat.MICROSOFT,
        HopTls.USED,
        None,
        None,
        "EX1.corp.example.com (10.0.0.5)",
        "EX2.corp.example.com",
        "Microsoft SMTP Server",
    ),
    (
        "from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1) by "
        "AM0PR01MB5678.eurprd01.prod.exchangelabs.com with HTTPS" + D,
        HeaderFormat.UNKNOWN,
        HopTls.USED,
        None,
        None,
        "AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1)",
        "AM0PR01MB5678.eurprd01.prod.exchangelabs.com",
        "HTTPS",
    ),
    (
        "from AM0PR01MB1234.eurprd01.prod.outlook.com ([fe80::1]) by "
        "AM0PR01MB1234.eurprd01.prod.outlook.com ([fe80::1%5]) with mapi id 15.20.7654.010" + D,
        HeaderFormat.MICROSOFT,
        HopTls.NOT_RECORDED,
        None,
        None,
        "AM0PR01MB1234.eurprd01.prod.outlook.com ([fe80::1])",
        "AM0PR01MB1234.eurprd01.prod.outlook.com",
        "mapi",
    ),
    (
        "from unknown (HELO mail.example.org) (192.0.2.1) by mx.example.com with SMTP" + D,
        HeaderFormat.QMAIL,
        HopTls.NOT_USED,
        None,
        None,
        "unknown (HELO mail.example.org) (192.0.2.1)",
        "mx.example.com",
        "SMTP",
    ),
    (
        "from mail.example.org (HELO mail.example.org) (192.0.2.1) by mx.example.com with "
        "(ECDHE-RSA-AES256-GCM-SHA384 encrypted) SMTP" + D,
        HeaderFormat.QMAIL,
        HopTls.USED,
        None,
        "ECDHE-RSA-AES256-GCM-SHA384",
        "mail.example.org (HELO mail.example.org) (192.0.2.1)",
        "mx.example.com",
        "SMTP",
    ),
    (  # qmail's TLS patch today: the cipher in the protocol string, `ESMTPS (… encrypted)`
        "from unknown (HELO mail.example.org) (192.0.2.1) by mx.example.net with ESMTPS "
        "(ECDHE-RSA-AES256-GCM-SHA384 encrypted)" + D,
        HeaderFormat.QMAIL,
        HopTls.USED,
        None,
        "ECDHE-RSA-AES256-GCM-SHA384",
        "unknown (HELO mail.example.org) (192.0.2.1)",
        "mx.example.net",
        "ESMTPS",
    ),
    (  # qmail when the HELO name is the host's own name: no HELO comment, the remote info
        "from mail.example.org (postmaster@192.0.2.1) by mx.example.net with ESMTPS "
        "(TLS_AES_256_GCM_SHA384 encrypted)" + D,
        HeaderFormat.QMAIL,
        HopTls.USED,
        None,
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org (postmaster@192.0.2.1)",
        "mx.example.net",
        "ESMTPS",
    ),
    (  # only an address: nothing says which MTA, so `with SMTP` proves nothing
        "from 192.0.2.1 by mx.example.net with SMTP" + D,
        HeaderFormat.UNKNOWN,
        HopTls.NOT_RECORDED,
        None,
        None,
        "192.0.2.1",
        "mx.example.net",
        "SMTP",
    ),
    (
        "(qmail 12345 invoked from network)" + D,
        HeaderFormat.QMAIL,
        HopTls.NOT_RECORDED,
        None,
        None,
        None,
        None,
        None,
    ),
    (
        "from mail.example.org (mail.example.org [::ffff:192.0.2.1]) (TLS: TLSv1.3,256bits,"
        "TLS_AES_256_GCM_SHA384) by mx.example.com with ESMTPS; Tue, 1 Dec 2026 12:00:00 +0100",
        HeaderFormat.COURIER,
        HopTls.USED,
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "mail.example.org (mail.example.org [::ffff:192.0.2.1])",
        "mx.example.com",
        "ESMTPS",
    ),
    (
        "from mail.example.org (mail.example.org [::ffff:192.0.2.1]) by mx.example.com with "
        "ESMTP; Tue, 1 Dec 2026 12:00:00 +0100 id 0001ABCD.5F8A1B2C.00001234 (Courier)",
        HeaderFormat.UNKNOWN,  # the id after the date is outside the clauses
        HopTls.NOT_RECORDED,
        None,
        None,
        "mail.example.org (mail.example.org [::ffff:192.0.2.1])",
        "mx.example.com",
        "ESMTP",
    ),
    (  # an unknown MTA: `with ESMTP` alone proves nothing
        "from mail.example.org (192.0.2.1) by mx.example.com (SomeMTA 1.0) with ESMTP id 42" + D,
        HeaderFormat.UNKNOWN,
        HopTls.NOT_RECORDED,
        None,
        None,
        "mail.example.org (192.0.2.1)",
        "mx.example.com",
        "ESMTP",
    ),
]


@pytest.mark.parametrize(
    ("header", "fmt", "tls", "version", "cipher", "from_host", "by_host", "protocol"), CASES
)
def test_formats(
    header: str,
    fmt: HeaderFormat,
    tls: HopTls,
    version: str | None,
    cipher: str | None,
    from_host: str | None,
    by_host: str | None,
    protocol: str | None,
) -> None:
    hop = parse_hop(1, header)
    assert (hop.format, hop.tls, hop.tls_version, hop.cipher) == (fmt, tls, version, cipher)
    assert (hop.from_host, hop.by_host, hop.protocol) == (from_host, by_host, protocol)


def test_date_in_utc_and_unparsable_date_kept_as_text() -> None:
    hop = parse_hop(1, CASES[0][0])
    assert hop.received_at == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    hop = parse_hop(1, "from a by b with ESMTP; yesterday-ish")
    assert hop.received_at is None
    assert hop.date_text == "yesterday-ish"


def test_unclosed_and_nested_comments() -> None:
    hop = parse_hop(1, "from a (b (c) d by e with ESMTPS" + D)
    assert hop.from_host == "a (b (c) d by e with ESMTPS"
    assert hop.protocol is None  # everything after the open comment is comment
    assert hop.tls is HopTls.NOT_RECORDED
