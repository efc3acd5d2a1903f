import sys
s = open(sys.argv[1]).read()
a='''    moment, _, ident = raw.partition(".")
    if not (moment.isascii() and moment.isdigit() and 0 < int(moment) <= MAX_SEQ) or not (
        0 < len(ident) <= MAX_ID and NUL not in ident
    ):
        raise Invalid("after is not a position this list gave", field="after")
    return int(moment), ident'''
b='''    moment, _, ident = raw.partition(".")
    refused = "after is not a position this list gave"
    if not 0 < len(ident) <= MAX_ID or NUL in ident:
        raise Invalid(refused, field="after")
    return whole_number(moment, "after", low=1, high=MAX_SEQ, message=refused), ident'''
c='''    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_SEQ:
        raise Invalid("after is not a position this list gave", field="after")
    return int(raw)'''
d='''    refused = "after is not a position this list gave"
    return whole_number(raw, "after", low=1, high=MAX_SEQ, message=refused)'''
e='from earnest.web.common import CSRF_FIELD, AnyRequest, earnest, page, redirect, signed_in\n'
f='''from earnest.web.common import (
    CSRF_FIELD,
    AnyRequest,
    earnest,
    page,
    redirect,
    signed_in,
    whole_number,
)
'''
for x in (a, c, e):
    assert s.count(x) == 1, x
open(sys.argv[2], "w").write(s.replace(a, b).replace(c, d).replace(e, f))
