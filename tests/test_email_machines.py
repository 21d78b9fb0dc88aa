"""Machines are not people: auto-replies and bounces as real mail clients and servers write them, and what a bounce does."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot import data_rights, outbox
from bot.doubles.slack import block_kit_problems
from bot.email import machines
from bot.email.machines import Verdict, classify, classify_fields, clear_failing, record_bounce
from bot.email.render import render_notice as render_email
from bot.mrkdwn import escape as mrkdwn_escape
from bot.settings import Settings
from bot.slack.messages import render_notice as render_slack
from storage import db, repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person


def parse(raw: bytes):
    return message_from_bytes(raw.replace(b"\n", b"\r\n"), policy=policy.default)


ORIGINAL = b"""From: District Mentoring <mentoring@mentor.example>
To: Ana Chen <ana.chen@district.example>
Subject: Mentoring this term
Message-ID: <prompt.opt_in.1@mentor.example>

Hi Ana, will you take part in mentoring this term?
"""

# --- auto-replies ---------------------------------------------------------------------------------------------------

EXCHANGE_OOF = b"""Received: from CY4PR01MB2870.prod.exchangelabs.com by CY4PR01MB2870.prod.exchangelabs.com
From: Ben Ortiz <ben.ortiz@district.example>
To: District Mentoring <reply+eyJwIjoxfQ@reply.mentor.example>
Subject: Automatic reply: Mentoring this term
Thread-Topic: Mentoring this term
Thread-Index: AQHbOk7Yx2n5TqJ3d0mCzv1T9m3bUg==
Date: Mon, 23 Nov 2026 17:01:12 +0000
Message-ID: <d8b1c7a3e1f54e0b9a1a@CY4PR01MB2870.prod.exchangelabs.com>
In-Reply-To: <prompt.opt_in.1@mentor.example>
Content-Language: en-US
X-MS-Has-Attach:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: ben.ortiz@district.example
X-MS-TNEF-Correlator:
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

I am out of the office until November 30 with limited access to email.
For urgent matters please contact the front office at 555-0142.
"""

EXCHANGE_RULE_REPLY = b"""From: Dana Park <dana.park@district.example>
To: reply+eyJwIjoyfQ@reply.mentor.example
Subject: RE: Mentoring this term
Date: Mon, 23 Nov 2026 17:02:00 +0000
Message-ID: <a1b2c3@BN6PR11MB1234.namprd11.prod.outlook.com>
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
X-MS-Exchange-Organization-AuthAs: Internal
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Thank you for your message. I check email on Tuesdays and Thursdays only.
"""

GMAIL_VACATION = b"""Return-Path: <carla.diaz@gmail.com>
From: Carla Diaz <carla.diaz@gmail.com>
To: reply+eyJwIjozfQ@reply.mentor.example
Subject: Away until December 1
Date: Mon, 23 Nov 2026 09:01:40 -0800
Message-ID: <CAJvAc+1QmxE3fZ@mail.gmail.com>
In-Reply-To: <prompt.opt_in.1@mentor.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000a1b2c3"

--000000000000a1b2c3
Content-Type: text/plain; charset="UTF-8"

Hi! I'm away on a school trip until December 1. Yes, I'll answer then.

--000000000000a1b2c3
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Hi! I'm away on a school trip until December 1. Yes, I'll answer then.</div>

--000000000000a1b2c3--
"""

PRECEDENCE_AUTO_REPLY = b"""From: Eli Novak <eli.novak@district.example>
To: reply+eyJwIjo0fQ@reply.mentor.example
Subject: Re: Mentoring this term
Precedence: auto_reply
Date: Mon, 23 Nov 2026 17:03:00 +0000
Content-Type: text/plain; charset=utf-8

I am on leave. Your email will not be forwarded.
"""

X_AUTOREPLY = b"""From: Farah Aziz <farah@smallschool.example>
To: reply+eyJwIjo1fQ@reply.mentor.example
Subject: Re: Mentoring this term
X-Autoreply: yes
Date: Mon, 23 Nov 2026 17:04:00 +0000
Content-Type: text/plain; charset=utf-8

Thanks for writing! I'll get back to you within two school days.
"""

X_AUTORESPOND = b"""From: George Lee <george@charter.example>
To: reply+eyJwIjo2fQ@reply.mentor.example
Subject: Thank you for your message
X-Autorespond: Thank you for your message
Date: Mon, 23 Nov 2026 17:05:00 +0000
Content-Type: text/plain; charset=utf-8

Thank you for your message. I will reply as soon as I can.
"""

PRECEDENCE_BULK = b"""From: Staff Newsletter <news@district.example>
To: reply+eyJwIjo3fQ@reply.mentor.example
Subject: This week at Lincoln Elementary
Precedence: bulk
Content-Type: text/plain; charset=utf-8

Picture day is Thursday.
"""

GERMAN_OOO = b"""From: Hanna Vogel <hanna.vogel@schule.example>
To: reply+eyJwIjo4fQ@reply.mentor.example
Subject: =?utf-8?q?Abwesenheitsnotiz=3A_Mentoring_dieses_Halbjahr?=
Date: Mon, 23 Nov 2026 18:00:00 +0100
Content-Type: text/plain; charset=utf-8

Ich bin bis zum 30.11. nicht im Haus.
"""

GERMAN_AUTOMATIC = b"""From: Ingo Berg <ingo.berg@schule.example>
To: reply+eyJwIjo5fQ@reply.mentor.example
Subject: Automatische Antwort: AW: Mentoring dieses Halbjahr
Date: Mon, 23 Nov 2026 18:00:00 +0100
Content-Type: text/plain; charset=utf-8

Vielen Dank f=C3=BCr Ihre Nachricht.
"""

FRENCH_OOO = b"""From: Julie Martin <julie.martin@ecole.example>
To: reply+eyJwIjoxMH0@reply.mentor.example
Subject: =?iso-8859-1?q?R=E9ponse_automatique_=3A_Mentorat_ce_trimestre?=
Date: Mon, 23 Nov 2026 18:00:00 +0100
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Je suis absente jusqu'au 30 novembre.
"""

SPANISH_OOO = b"""From: Lucia Romero <lucia.romero@escuela.example>
To: reply+eyJwIjoxMX0@reply.mentor.example
Subject: =?UTF-8?B?UmVzcHVlc3RhIGF1dG9tw6F0aWNhOiBQcm9ncmFtYSBkZSBtZW50b3LDrWE=?=
Date: Mon, 23 Nov 2026 11:00:00 -0600
Content-Type: text/plain; charset=utf-8

Estoy fuera de la oficina hasta el lunes.
"""

ITALIAN_OOO = b"""From: Marco Rossi <marco.rossi@scuola.example>
To: reply+eyJwIjoxMn0@reply.mentor.example
Subject: Risposta automatica: Mentoring
Date: Mon, 23 Nov 2026 18:00:00 +0100
Content-Type: text/plain; charset=utf-8

Sono in ferie fino al 30 novembre.
"""

DUTCH_OOO = b"""From: Noor de Vries <noor@school.example>
To: reply+eyJwIjoxM30@reply.mentor.example
Subject: Automatisch antwoord: Mentorprogramma
Date: Mon, 23 Nov 2026 18:00:00 +0100
Content-Type: text/plain; charset=utf-8

Ik ben afwezig tot en met 30 november.
"""

SWEDISH_OOO = b"""From: Olle Svensson <olle@skola.example>
To: reply+eyJwIjoxNH0@reply.mentor.example
Subject: =?utf-8?q?Fr=C3=A5nvaro=3A_Mentorskap?=
Date: Mon, 23 Nov 2026 18:00:00 +0100
Content-Type: text/plain; charset=utf-8

Jag =C3=A4r ledig till m=C3=A5ndag.
"""

PORTUGUESE_OOO = b"""From: Paula Souza <paula@escola.example>
To: reply+eyJwIjoxNX0@reply.mentor.example
Subject: =?utf-8?q?Resposta_autom=C3=A1tica=3A_Mentoria?=
Date: Mon, 23 Nov 2026 14:00:00 -0300
Content-Type: text/plain; charset=utf-8

Estou de f=C3=A9rias.
"""

OLD_EXCHANGE_OOO = b"""From: Quinn Hall <qhall@district.example>
To: reply+eyJwIjoxNn0@reply.mentor.example
Subject: Out of Office AutoReply: Mentoring this term
Date: Mon, 23 Nov 2026 17:06:00 +0000
Content-Type: text/plain; charset=us-ascii

I am out of the office.
"""

RE_OUT_OF_OFFICE_COLON = b"""From: Rosa Kim <rosa.kim@district.example>
To: reply+eyJwIjoxN30@reply.mentor.example
Subject: RE: Out of Office: Mentoring this term
Date: Mon, 23 Nov 2026 17:07:00 +0000
Content-Type: text/plain; charset=us-ascii

I am at a conference this week.
"""

AUTO_GENERATED = b"""From: Sam Ito <sam.ito@district.example>
To: reply+eyJwIjoxOH0@reply.mentor.example
Subject: Re: Mentoring this term
Auto-Submitted: auto-generated
Content-Type: text/plain; charset=us-ascii

Your message has been received.
"""

X_AUTOGENERATED = b"""From: Tara Webb <tara@district.example>
To: reply+eyJwIjoxOX0@reply.mentor.example
Subject: Re: Mentoring this term
X-Autogenerated: Reply
Content-Type: text/plain; charset=us-ascii

This mailbox is not monitored during the break.
"""

UNIX_VACATION = b"""From: Uma Patel <uma@mail.university.example>
To: reply+eyJwIjoyMH0@reply.mentor.example
Subject: away from my mail
X-Mailer: vacation 1.2.7
Content-Type: text/plain; charset=us-ascii

I will not be reading my mail for a while.
"""

NULL_RETURN_PATH = b"""Return-Path: <>
From: Victor Cho <victor.cho@district.example>
To: reply+eyJwIjoyMX0@reply.mentor.example
Subject: Thanks for your email
Content-Type: text/plain; charset=us-ascii

I'm teaching all day and will read your email this evening.
"""

NO_REPLY_SENDER = b"""From: Lincoln Help Desk <no-reply@helpdesk.district.example>
To: reply+eyJwIjoyMn0@reply.mentor.example
Subject: [Ticket #4821] We received your request
Content-Type: text/plain; charset=us-ascii

A technician will look at your ticket soon.
"""

# --- people -----------------------------------------------------------------------------------------------------

PERSON_OUT_OF_OFFICE_QUESTION = b"""From: Wen Li <wen.li@district.example>
To: reply+eyJwIjoyM30@reply.mentor.example
Subject: Re: Out of office tomorrow?
Date: Mon, 23 Nov 2026 17:10:00 +0000
Message-ID: <CAB1x2y3z@mail.gmail.com>
In-Reply-To: <prompt.opt_in.1@mentor.example>
Content-Type: text/plain; charset=UTF-8

I'll be out of office tomorrow but yes, count me in as a mentor.
"""

PERSON_OUTLOOK_BODY_OOO = b"""From: Xavier Ruiz <xavier.ruiz@district.example>
To: "reply+eyJwIjoyNH0@reply.mentor.example" <reply+eyJwIjoyNH0@reply.mentor.example>
Subject: RE: Mentoring this term
Thread-Topic: Mentoring this term
Thread-Index: AQHbOk7Yx2n5TqJ3d0mCzv1T9m3bUgABCDEF
Date: Mon, 23 Nov 2026 17:11:00 +0000
Message-ID: <SN6PR04MB4567@SN6PR04MB4567.namprd04.prod.outlook.com>
In-Reply-To: <prompt.opt_in.1@mentor.example>
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-Exchange-Organization-AuthAs: Internal
X-MS-Exchange-Organization-AuthSource: SN6PR04MB4567.namprd04.prod.outlook.com
X-MS-Exchange-CrossTenant-originalarrivaltime: 23 Nov 2026 17:11:00.0000 (UTC)
X-MS-Exchange-Transport-CrossTenantHeadersStamped: SN6PR04MB4567
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

Mentor. I had my out of office on last week, sorry for the slow answer!

________________________________
From: District Mentoring <mentoring@mentor.example>
Sent: Monday, November 23, 2026 9:00 AM
Subject: Mentoring this term
"""

PERSON_AUTO_SUBMITTED_NO = b"""From: Yara Haddad <yara@district.example>
To: reply+eyJwIjoyNX0@reply.mentor.example
Subject: Re: Mentoring this term
Auto-Submitted: no
Content-Type: text/plain; charset=utf-8

1. mentee
2. Tuesdays after 3:30
"""

PERSON_ASKS_ABOUT_UNDELIVERABLE = b"""From: Zoe Grant <zoe.grant@district.example>
To: reply+eyJwIjoyNn0@reply.mentor.example
Subject: Re: Undeliverable: Mentoring this term
Content-Type: text/plain; charset=utf-8

My principal forwarded me this. I think you had my old address. Count me in as a mentee!

> Delivery has failed to these recipients or groups:
> zoe.grant@old-district.example
"""

PERSON_GERMAN_REPLY = b"""From: Hanna Vogel <hanna.vogel@schule.example>
To: reply+eyJwIjo4fQ@reply.mentor.example
Subject: AW: Mentoring dieses Halbjahr
Content-Type: text/plain; charset=utf-8

Ja, gerne als Mentorin. Meine Abwesenheitsnotiz war leider noch an.
"""

# --- bounces --------------------------------------------------------------------------------------------------------

POSTFIX_DSN = b"""Return-Path: <>
From: MAILER-DAEMON@mx1.mentor.example (Mail Delivery System)
To: mentoring@mentor.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Date: Mon, 23 Nov 2026 09:00:03 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="7A1C03E0C2.1764000003/mx1.mentor.example"

This is a MIME-encapsulated message.

--7A1C03E0C2.1764000003/mx1.mentor.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.mentor.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<ana.chen@district.example>: host mx.district.example[192.0.2.5] said: 550 5.1.1
    <ana.chen@district.example>: Recipient address rejected: User unknown in
    virtual mailbox table (in reply to RCPT TO command)

--7A1C03E0C2.1764000003/mx1.mentor.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.mentor.example
X-Postfix-Queue-ID: 7A1C03E0C2
X-Postfix-Sender: rfc822; mentoring@mentor.example
Arrival-Date: Mon, 23 Nov 2026 09:00:01 -0800 (PST)

Final-Recipient: rfc822; ana.chen@district.example
Original-Recipient: rfc822;ana.chen@district.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.district.example
Diagnostic-Code: smtp; 550 5.1.1 <ana.chen@district.example>: Recipient address
    rejected: User unknown in virtual mailbox table

--7A1C03E0C2.1764000003/mx1.mentor.example
Content-Description: Undelivered Message
Content-Type: message/rfc822

""" + ORIGINAL + b"""
--7A1C03E0C2.1764000003/mx1.mentor.example--
"""

POSTFIX_DELAYED = b"""Return-Path: <>
From: MAILER-DAEMON@mx1.mentor.example (Mail Delivery System)
To: mentoring@mentor.example
Subject: Delayed Mail (still being retried)
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B2"

--B2
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.mentor.example.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

<ben.ortiz@district.example>: connect to mx.district.example[192.0.2.5]:25:
    Connection timed out

--B2
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.mentor.example
Arrival-Date: Mon, 23 Nov 2026 05:00:01 -0800 (PST)

Final-Recipient: rfc822; ben.ortiz@district.example
Original-Recipient: rfc822;ben.ortiz@district.example
Action: delayed
Status: 4.4.7
Diagnostic-Code: X-Postfix; connect to mx.district.example[192.0.2.5]:25:
    Connection timed out
Will-Retry-Until: Sat, 28 Nov 2026 05:00:01 -0800 (PST)

--B2
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: District Mentoring <mentoring@mentor.example>
To: Ben Ortiz <ben.ortiz@district.example>
Subject: Mentoring this term

--B2--
"""

GAVE_UP_AFTER_RETRIES = b"""Return-Path: <>
From: MAILER-DAEMON@mx1.mentor.example (Mail Delivery System)
To: mentoring@mentor.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B3"

--B3
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.mentor.example.
Your message could not be delivered for 5 days. The receiving server never answered.

--B3
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.mentor.example

Final-Recipient: rfc822; ben.ortiz@district.example
Action: failed
Status: 4.4.7
Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect to
    mx.district.example[192.0.2.5]:25: Connection timed out

--B3--
"""

OFFICE365_NDR = b"""From: Microsoft Outlook <postmaster@districtschools.onmicrosoft.com>
To: <mentoring@mentor.example>
Subject: Undeliverable: Mentoring this term
Date: Mon, 23 Nov 2026 17:00:05 +0000
Message-ID: <5c0d3a4e-1d8b-4c8f-9a77-ndr@CO1PR11MB5000.namprd11.prod.outlook.com>
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_ndr_CO1PR11MB5000"

--_000_ndr_CO1PR11MB5000
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="_001_ndr_alt"

--_001_ndr_alt
Content-Type: text/plain; charset="us-ascii"

Your message to carla.diaz@districtschools.org couldn't be delivered.
carla.diaz wasn't found at districtschools.org.

Office 365                      carla.diaz
Action Required                 Recipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist.

Diagnostic information for administrators:
Generating server: CO1PR11MB5000.namprd11.prod.outlook.com
carla.diaz@districtschools.org
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

--_001_ndr_alt
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to <a href="mailto:carla.diaz@districtschools.org">carla.diaz@districtschools.org</a> couldn't be delivered.</p></body></html>

--_001_ndr_alt--

--_000_ndr_CO1PR11MB5000
Content-Type: message/delivery-status

Reporting-MTA: dns;CO1PR11MB5000.namprd11.prod.outlook.com
Received-From-MTA: dns;mentor.example
Arrival-Date: Mon, 23 Nov 2026 17:00:04 +0000

Original-Recipient: rfc822;carla.diaz@districtschools.org
Final-Recipient: rfc822;carla.diaz@districtschools.org
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup

--_000_ndr_CO1PR11MB5000
Content-Type: message/rfc822

From: District Mentoring <mentoring@mentor.example>
To: Carla Diaz <carla.diaz@districtschools.org>
Subject: Mentoring this term

Hi Carla.

--_000_ndr_CO1PR11MB5000--
"""

GMAIL_DSN = b"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: mentoring@mentor.example
Subject: Delivery Status Notification (Failure)
Auto-Submitted: auto-replied
Message-ID: <65fa1c2b.050a0220.bounce@mx.google.com>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000bounce"; report-type=delivery-status

--000000000000bounce
Content-Type: multipart/related; boundary="000000000000related"

--000000000000related
Content-Type: multipart/alternative; boundary="000000000000alt"

--000000000000alt
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to dmitri.k@gmail.com because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response was:

The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.

--000000000000alt--

--000000000000related--

--000000000000bounce
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mentoring@mentor.example
Arrival-Date: Mon, 23 Nov 2026 09:00:01 -0800 (PST)
X-Original-Message-ID: <prompt.opt_in.7@mentor.example>

Final-Recipient: rfc822; dmitri.k@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0:4864:20::32, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
Last-Attempt-Date: Mon, 23 Nov 2026 09:00:02 -0800 (PST)

--000000000000bounce
Content-Type: message/rfc822

From: District Mentoring <mentoring@mentor.example>
To: Dmitri K <dmitri.k@gmail.com>
Subject: Mentoring this term

Hi Dmitri.

--000000000000bounce--
"""

GMAIL_DELAY = b"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: mentoring@mentor.example
Subject: Delivery Status Notification (Delay)
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; boundary="delaybound"; report-type=delivery-status

--delaybound
Content-Type: text/plain; charset="UTF-8"

** Message not delivered yet **
Gmail will keep trying to deliver your message in the next 47 hours.

--delaybound
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com

Final-Recipient: rfc822; ellen.w@smallcharter.example
Action: delayed
Status: 4.4.1
Diagnostic-Code: smtp; The recipient server did not accept our requests to connect.

--delaybound--
"""

EXCHANGE_PLAIN_NDR = b"""From: postmaster@district.example
To: mentoring@mentor.example
Subject: Undeliverable: Mentoring this term
Date: Mon, 23 Nov 2026 17:00:05 +0000
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

Frank Moss (frank.moss@district.example)
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message.

Diagnostic information for administrators:

Generating server: EXCH01.district.local

frank.moss@district.example
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

Original message headers:

From: District Mentoring <mentoring@mentor.example>
To: Frank Moss <frank.moss@district.example>
Cc: <pat.lee@district.example>
Subject: Mentoring this term
"""

QMAIL_FAILURE = b"""Return-Path: <>
From: MAILER-DAEMON@mail.smallschool.example
To: mentoring@mentor.example
Subject: failure notice
Content-Type: text/plain; charset=us-ascii

Hi. This is the qmail-send program at mail.smallschool.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gina.torres@smallschool.example>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

From: District Mentoring <mentoring@mentor.example>
To: gina.torres@smallschool.example
Subject: Mentoring this term
"""

EXIM_FAILURE = b"""Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@mail.academy.example>
To: mentoring@mentor.example
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied
X-Failed-Recipients: henry.adams@academy.example
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  henry.adams@academy.example
    host mail.academy.example [192.0.2.9]
    SMTP error from remote mail server after RCPT TO:<henry.adams@academy.example>:
    550 5.1.1 <henry.adams@academy.example>: User unknown

------ This is a copy of the message, including all the headers. ------

From: District Mentoring <mentoring@mentor.example>
To: henry.adams@academy.example
Subject: Mentoring this term
"""

TWO_RECIPIENTS_ONE_FULL = b"""Return-Path: <>
From: MAILER-DAEMON@mx1.mentor.example (Mail Delivery System)
To: mentoring@mentor.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="B4"

--B4
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.mentor.example.

--B4
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.mentor.example

Final-Recipient: rfc822; ivy.nguyen@district.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 <ivy.nguyen@district.example>: Mailbox full

Final-Recipient: rfc822; jon.baker@district.example
Action: delayed
Status: 4.2.0
Diagnostic-Code: smtp; 451 4.2.0 Greylisted, please try again later

--B4--
"""

AUTO = "auto_reply"
CASES = [
    ("exchange_oof_without_auto_submitted", EXCHANGE_OOF, AUTO, "X-Auto-Response-Suppress"),
    ("exchange_mailbox_rule", EXCHANGE_RULE_REPLY, AUTO, "Exchange"),
    ("gmail_vacation", GMAIL_VACATION, AUTO, "Auto-Submitted: auto-replied"),
    ("precedence_auto_reply", PRECEDENCE_AUTO_REPLY, AUTO, "Precedence: auto_reply"),
    ("x_autoreply_yes", X_AUTOREPLY, AUTO, "x-autoreply"),
    ("x_autorespond", X_AUTORESPOND, AUTO, "x-autorespond"),
    ("precedence_bulk", PRECEDENCE_BULK, AUTO, "Precedence: bulk"),
    ("german_abwesenheitsnotiz", GERMAN_OOO, AUTO, "Abwesenheitsnotiz"),
    ("german_automatische_antwort", GERMAN_AUTOMATIC, AUTO, "Automatische Antwort"),
    ("french_reponse_automatique", FRENCH_OOO, AUTO, "Réponse automatique"),
    ("spanish_respuesta_automatica", SPANISH_OOO, AUTO, "Respuesta automática"),
    ("italian_risposta_automatica", ITALIAN_OOO, AUTO, "Risposta automatica"),
    ("dutch_automatisch_antwoord", DUTCH_OOO, AUTO, "Automatisch antwoord"),
    ("swedish_franvaro", SWEDISH_OOO, AUTO, "Frånvaro"),
    ("portuguese_resposta_automatica", PORTUGUESE_OOO, AUTO, "Resposta automática"),
    ("old_exchange_out_of_office_autoreply", OLD_EXCHANGE_OOO, AUTO, "Out of Office AutoReply"),
    ("re_out_of_office_colon", RE_OUT_OF_OFFICE_COLON, AUTO, "Out of Office:"),
    ("auto_submitted_auto_generated", AUTO_GENERATED, AUTO, "auto-generated"),
    ("x_autogenerated_reply", X_AUTOGENERATED, AUTO, "X-Autogenerated"),
    ("unix_vacation_mailer", UNIX_VACATION, AUTO, "X-Mailer: vacation"),
    ("null_return_path", NULL_RETURN_PATH, AUTO, "null return path"),
    ("no_reply_sender", NO_REPLY_SENDER, AUTO, "no-reply@"),
    ("person_asks_out_of_office_tomorrow", PERSON_OUT_OF_OFFICE_QUESTION, "person", ""),
    ("person_outlook_reply_mentions_out_of_office", PERSON_OUTLOOK_BODY_OOO, "person", ""),
    ("person_auto_submitted_no", PERSON_AUTO_SUBMITTED_NO, "person", ""),
    ("person_forwards_an_undeliverable", PERSON_ASKS_ABOUT_UNDELIVERABLE, "person", ""),
    ("person_german_reply_mentions_abwesenheitsnotiz", PERSON_GERMAN_REPLY, "person", ""),
]


@pytest.mark.parametrize(("raw", "kind", "why"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_auto_replies_and_people(raw: bytes, kind: str, why: str) -> None:
    verdict = classify(parse(raw))
    assert verdict.kind == kind, verdict.reason
    assert why.lower() in verdict.reason.lower()
    assert verdict.failed_recipients == ()


BOUNCES = [
    # (name, raw, failed for good, delayed, words the admin's diagnostic must carry)
    ("postfix_dsn_5_1_1", POSTFIX_DSN, ("ana.chen@district.example",), (), "550 5.1.1 <ana.chen@district.example>: Recipient address rejected: User unknown"),
    ("postfix_delayed_4_4_7", POSTFIX_DELAYED, (), ("ben.ortiz@district.example",), "Connection timed out"),
    ("failed_with_4_4_7_after_retries", GAVE_UP_AFTER_RETRIES, (), ("ben.ortiz@district.example",), "Connection timed out"),
    ("office365_ndr", OFFICE365_NDR, ("carla.diaz@districtschools.org",), (), "550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
    ("gmail_dsn_failure", GMAIL_DSN, ("dmitri.k@gmail.com",), (), "550-5.1.1 The email account that you tried to reach does not exist"),
    ("gmail_dsn_delay", GMAIL_DELAY, (), ("ellen.w@smallcharter.example",), "did not accept"),
    ("exchange_plain_text_ndr", EXCHANGE_PLAIN_NDR, ("frank.moss@district.example",), (), "550 5.1.1 RESOLVER.ADR.RecipNotFound"),
    ("qmail_failure_notice", QMAIL_FAILURE, ("gina.torres@smallschool.example",), (), "5.1.1"),
    ("exim_mail_delivery_failed", EXIM_FAILURE, ("henry.adams@academy.example",), (), "550 5.1.1 <henry.adams@academy.example>: User unknown"),
    ("one_mailbox_full_one_greylisted", TWO_RECIPIENTS_ONE_FULL, ("ivy.nguyen@district.example",), ("jon.baker@district.example",), "552 5.2.2"),
]


@pytest.mark.parametrize(("raw", "failed", "delayed", "diagnostic"), [b[1:] for b in BOUNCES], ids=[b[0] for b in BOUNCES])
def test_bounces_name_who_failed_for_good(raw: bytes, failed: tuple, delayed: tuple, diagnostic: str) -> None:
    verdict = classify(parse(raw))
    assert verdict.kind == "bounce", verdict.reason
    assert verdict.failed_recipients == failed, verdict.reason
    assert verdict.delayed_recipients == delayed, verdict.reason
    assert diagnostic in verdict.diagnostic
    assert len(verdict.diagnostic) <= 200
    if not failed:
        assert "not failing" in verdict.reason


def test_the_addresses_inside_the_returned_original_are_not_failures() -> None:
    """The bounced original copies our own From and a Cc; only the DSN's recipient failed."""
    raw = POSTFIX_DSN.replace(b"Subject: Mentoring this term\nMessage-ID", b"Cc: pat.lee@district.example\nSubject: Mentoring this term\nMessage-ID")
    assert raw != POSTFIX_DSN
    assert classify(parse(raw)).failed_recipients == ("ana.chen@district.example",)


def test_a_relay_report_fails_nobody() -> None:
    raw = POSTFIX_DSN.replace(b"Action: failed\nStatus: 5.1.1", b"Action: relayed\nStatus: 2.0.0").replace(b"Subject: Undelivered Mail Returned to Sender", b"Subject: Successful Mail Delivery Report")
    verdict = classify(parse(raw))
    assert (verdict.kind, verdict.failed_recipients, verdict.delayed_recipients) == ("bounce", (), ())


def test_a_detector_that_trips_still_leaves_the_dsn_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    def trip(message):
        raise IndexError("a heuristic detector met a line it did not expect")

    monkeypatch.setattr(machines, "all_failures", trip)
    verdict = classify(parse(OFFICE365_NDR))
    assert verdict.failed_recipients == ("carla.diaz@districtschools.org",)


# --- webhook posts (some headers only) ------------------------------------------------------------------------------


def test_webhook_fields_auto_reply_from_headers_alone() -> None:
    verdict = classify_fields(headers={"Auto-Submitted": "auto-replied", "From": "carla.diaz@gmail.com"}, subject="Re: Mentoring this term", text="I'm away.")
    assert verdict == Verdict("auto_reply", "Auto-Submitted: auto-replied")


def test_webhook_fields_auto_reply_from_subject_alone() -> None:
    verdict = classify_fields(headers={}, subject="Automatic reply: Mentoring this term", text="I am out of the office.")
    assert verdict.kind == "auto_reply"


def test_webhook_fields_person_asking_about_out_of_office() -> None:
    verdict = classify_fields(headers={"from": "Wen Li <wen.li@district.example>"}, subject="Re: Out of office tomorrow?", text="Yes, mentor please.")
    assert verdict.kind == "person"


def test_webhook_fields_flattened_dsn() -> None:
    """A provider that posts the report's parts as one text still carries the DSN fields."""
    text = (
        "This is the mail system at host mx1.mentor.example.\n\n"
        "Reporting-MTA: dns; mx1.mentor.example\n\n"
        "Final-Recipient: rfc822; Ana.Chen@District.example\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ana.chen@district.example>: User unknown\n"
    )
    verdict = classify_fields(
        headers={"From": "MAILER-DAEMON@mx1.mentor.example"}, subject="Undelivered Mail Returned to Sender", text=text,
        content_type="multipart/report; report-type=delivery-status; boundary=x",
    )  # fmt: skip
    assert verdict.kind == "bounce"
    assert verdict.failed_recipients == ("ana.chen@district.example",)
    assert verdict.diagnostic == "550 5.1.1 <ana.chen@district.example>: User unknown"


def test_webhook_fields_person_forwarding_a_report_is_a_person() -> None:
    text = "Can you fix my address? This came back:\n\nFinal-Recipient: rfc822; zoe.grant@old-district.example\nAction: failed\nStatus: 5.1.1\n\nCount me in as a mentee."
    verdict = classify_fields(headers={"From": "zoe.grant@district.example"}, subject="Fwd: my old address", text=text, content_type="text/plain")
    assert verdict.kind == "person"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage that is not mail at all",
        b"From: <<<>>>\nTo: @@@\nSubject: =?x-unknown?q?=FF=FE?=\nContent-Type: multipart/report; report-type=delivery-status\n\nno boundary",
        b"From: MAILER-DAEMON@x.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822;\nAction: failed\nStatus: 5.9.9\n\n--b--\n",
    ],
    ids=["empty", "binary", "broken_headers", "dsn_without_address"],
)
def test_hostile_mail_gets_a_verdict_not_a_traceback(raw: bytes) -> None:
    verdict = classify(parse(raw))
    assert verdict.kind in ("person", "auto_reply", "bounce")
    assert verdict.failed_recipients == ()


# --- storage: what a bounce does -------------------------------------------------------------------------------------


def _people(engine: Engine, now: datetime) -> dict[str, int]:
    ids = {}
    with session_scope(engine) as session:
        for email, name, slack in (("Ana.Chen@district.example", "Ana Chen", "U0ANA"), ("ben.ortiz@district.example", "Ben Ortiz", None)):
            person, _ = repo.upsert_person(session, existing=None, fields={"email": email, "name": name, "role": "mentor", "slack_user_id": slack}, now=now)
            session.flush()
            ids[name] = person.id
    return ids


def _bounce(*addresses: str, diagnostic: str = "550 5.1.1 <ana.chen@district.example>: User unknown") -> Verdict:
    return Verdict("bounce", "test bounce", failed_recipients=addresses, diagnostic=diagnostic)


ADMINS = {"admin_emails": ["coordinator@district.example"], "admin_slack_ids": ["U0ADMIN"]}


def test_a_bounce_marks_the_person_and_tells_admins_and_the_person_once(engine: Engine, now: datetime) -> None:
    ids = _people(engine, now)
    verdict = classify(parse(POSTFIX_DSN))
    with session_scope(engine) as session:
        assert record_bounce(session, verdict=verdict, now=now, **ADMINS) == [ids["Ana Chen"]]
    later = now + timedelta(hours=2)
    with session_scope(engine) as session:  # the same address bounces again: already known, nobody told twice
        assert record_bounce(session, verdict=verdict, now=later, **ADMINS) == []
    with session_scope(engine) as session:
        ana = session.get(Person, ids["Ana Chen"])
        assert ana.email_failing_at == now
        assert ana.email_failure == "550 5.1.1 <ana.chen@district.example>: Recipient address rejected: User unknown in virtual mailbox table"
        assert session.get(Person, ids["Ben Ortiz"]).email_failing_at is None
        sent = {(m.channel, m.recipient, m.purpose, m.person_id): m.body for m in session.exec(sa.select(OutboxMessage)).scalars()}
    assert set(sent) == {
        ("email", "coordinator@district.example", "email.failing", None),
        ("slack", "U0ADMIN", "email.failing", None),
        ("slack", "U0ANA", "email.failing.person", ids["Ana Chen"]),
    }
    admin_text = sent[("slack", "U0ADMIN", "email.failing", None)]["text"]
    assert admin_text == (
        "Mail to Ana Chen <Ana.Chen@district.example> is failing: 550 5.1.1 <ana.chen@district.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table — check the roster address."
    )
    own = sent[("slack", "U0ANA", "email.failing.person", ids["Ana Chen"])]["text"]
    assert "We couldn't reach you by email at Ana.Chen@district.example" in own and "program coordinator" in own


def test_a_person_without_slack_gets_no_dm_and_unknown_addresses_change_nothing(engine: Engine, now: datetime) -> None:
    ids = _people(engine, now)
    with session_scope(engine) as session:
        marked = record_bounce(session, verdict=_bounce("BEN.ORTIZ@district.example", "stranger@elsewhere.example"), now=now, **ADMINS)
        assert marked == [ids["Ben Ortiz"]]
        messages = outbox.messages(session)
    assert sorted((m.channel, m.recipient) for m in messages) == [("email", "coordinator@district.example"), ("slack", "U0ADMIN")]
    assert all("Ben Ortiz <ben.ortiz@district.example> is failing" in m.body["text"] for m in messages)


def test_delays_and_non_bounces_mark_nobody(engine: Engine, now: datetime) -> None:
    _people(engine, now)
    with session_scope(engine) as session:
        assert record_bounce(session, verdict=classify(parse(POSTFIX_DELAYED)), now=now, **ADMINS) == []
        assert record_bounce(session, verdict=Verdict("auto_reply", "x", failed_recipients=("ana.chen@district.example",)), now=now, **ADMINS) == []
        assert outbox.messages(session) == []
        assert all(p.email_failing_at is None for p in repo.list_people(session))


def test_a_reply_clears_the_mark_and_a_later_bounce_is_a_new_failure(engine: Engine, now: datetime) -> None:
    ids = _people(engine, now)
    with session_scope(engine) as session:
        record_bounce(session, verdict=_bounce("ana.chen@district.example"), now=now, **ADMINS)
    with session_scope(engine) as session:
        assert clear_failing(session, ids["Ana Chen"], now + timedelta(days=1)) is True
        assert clear_failing(session, ids["Ben Ortiz"], now + timedelta(days=1)) is False
    with session_scope(engine) as session:
        ana = session.get(Person, ids["Ana Chen"])
        assert (ana.email_failing_at, ana.email_failure) == (None, None)
    with session_scope(engine) as session:
        assert record_bounce(session, verdict=_bounce("ana.chen@district.example", diagnostic="552 5.2.2 Mailbox full"), now=now + timedelta(days=9), **ADMINS) == [ids["Ana Chen"]]
        notices = outbox.messages(session, purpose="email.failing")
    assert [m.body["failure"] for m in notices] == ["550 5.1.1 <ana.chen@district.example>: User unknown"] * 2 + ["552 5.2.2 Mailbox full"] * 2


def test_a_long_diagnostic_fits_the_column(engine: Engine, now: datetime) -> None:
    ids = _people(engine, now)
    with session_scope(engine) as session:
        record_bounce(session, verdict=_bounce("ana.chen@district.example", diagnostic="550 5.7.1 " + "policy " * 100), now=now, admin_emails=[], admin_slack_ids=[])
    with session_scope(engine) as session:
        assert len(session.get(Person, ids["Ana Chen"]).email_failure) == 300


def test_failing_notices_render_on_email_and_slack(engine: Engine, now: datetime, tmp_path) -> None:
    _people(engine, now)
    settings = Settings(_env_file=None, data_dir=tmp_path, mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32)
    with session_scope(engine) as session:
        record_bounce(session, verdict=_bounce("ana.chen@district.example"), now=now, **ADMINS)
        by_channel = {(m.channel, m.purpose): m for m in outbox.messages(session)}
        email = render_email(session, message=by_channel[("email", "email.failing")], settings=settings, now=now)
    assert email.skip is None
    assert email.subject == "Mail to Ana Chen is failing"
    assert "Mail to Ana Chen <Ana.Chen@district.example> is failing: 550 5.1.1" in email.text
    for key in (("slack", "email.failing"), ("slack", "email.failing.person")):
        rendered = render_slack(by_channel[key].body)
        # The same words, escaped for Slack's mrkdwn: the addresses in angle brackets are text, not links.
        assert rendered.text == mrkdwn_escape(by_channel[key].body["text"])
        assert "&lt;ana.chen@district.example&gt;" in rendered.text and "<" not in rendered.text
        assert block_kit_problems(rendered.blocks, surface="message") == []


def test_migration_0006_adds_and_removes_the_columns(empty_database_url: str) -> None:
    engine = db.create_db_engine(empty_database_url)
    try:
        db.upgrade(engine, "0006")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("person")}
        assert {"email_failing_at", "email_failure"} <= columns
        db.downgrade(engine, "0005")
        assert not {"email_failing_at", "email_failure"} & {c["name"] for c in sa.inspect(engine).get_columns("person")}
        db.upgrade(engine)
        assert {"email_failing_at", "email_failure"} <= {c["name"] for c in sa.inspect(engine).get_columns("person")}
    finally:
        engine.dispose()


def test_erasing_a_person_erases_their_bounce_too(engine: Engine, now: datetime) -> None:
    ids = _people(engine, now)
    with session_scope(engine) as session:
        record_bounce(session, verdict=_bounce("ana.chen@district.example"), now=now, **ADMINS)
        assert data_rights.collect(session, person_id=ids["Ana Chen"])["person"]["email_failure"].startswith("550 5.1.1")
    with session_scope(engine) as session:
        data_rights.erase(session, person_id=ids["Ana Chen"], requested_by="coordinator@district.example", channel="cli", now=now)
    with session_scope(engine) as session:
        ana = session.get(Person, ids["Ana Chen"])
        assert (ana.email_failing_at, ana.email_failure) == (None, None)
        notices = outbox.messages(session, purpose="email.failing")
        assert notices and not any("ana.chen@district.example" in str(m.body).lower() for m in notices)


def test_a_french_absence_subject_and_a_challenge_response_filter_are_robots() -> None:
    absence = classify_fields(headers={"from": "Léa <lea@ecole.example>"}, subject="Absence : Did you meet?", text="Bonjour, je suis en congé.")
    challenge = classify_fields(
        headers={"from": "guard@mail.example", "x-challenge": "verify"}, subject="Please verify your email address",
        text="Click the link below to verify you are a real person.",
    )  # fmt: skip
    person = classify_fields(headers={"from": "lea@ecole.example"}, subject="Re: Absence de mon mentor", text="Il n'est jamais venu.")
    assert (absence.kind, challenge.kind, person.kind) == ("auto_reply", "auto_reply", "person")


def test_mail_to_a_failing_address_is_held_back_until_the_person_writes_in(engine: Engine, now: datetime) -> None:
    ids = _people(engine, now)
    settings = Settings(_env_file=None, email_token_secret="m" * 40, program_name="Riverside Mentoring")
    with session_scope(engine) as session:
        record_bounce(session, verdict=_bounce("ana.chen@district.example"), now=now, **ADMINS)
        reminder, _ = outbox.enqueue(
            session, idempotency_key="reminder:test:ana", channel="email", purpose="reminder", recipient="ana.chen@district.example",
            person_id=ids["Ana Chen"], body={"notice": "reminder", "text": "Your session is tomorrow."}, now=now,
        )  # fmt: skip
        session.flush()
        assert render_email(session, message=reminder, settings=settings, now=now).skip.startswith("address failing since")
    with session_scope(engine) as session:
        assert clear_failing(session, ids["Ana Chen"], now)
    with session_scope(engine) as session:
        reminder = session.exec(sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == "reminder:test:ana")).scalar_one()
        assert render_email(session, message=reminder, settings=settings, now=now).skip is None
