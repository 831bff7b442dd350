# Sourced by build-deb.sh and build-rpm.sh: sets MAINTAINER ("Name <address>") to whoever builds
# the package, the person a user of it can reach: LVSD_MAINTAINER, else DEBFULLNAME and DEBEMAIL
# (as dch and debhelper read them), else the checkout's git identity (user.name, user.email).
# Refuses to build with none of them, rather than ship a made-up address.
if [ -n "${LVSD_MAINTAINER:-}" ]; then
    MAINTAINER=$LVSD_MAINTAINER
elif [ -n "${DEBFULLNAME:-}" ] && [ -n "${DEBEMAIL:-}" ]; then
    MAINTAINER="$DEBFULLNAME <$DEBEMAIL>"
elif name=$(git config user.name 2> /dev/null) && email=$(git config user.email 2> /dev/null) && [ -n "$name" ] && [ -n "$email" ]; then
    MAINTAINER="$name <$email>"
else
    echo "packaging: who maintains this build? Set LVSD_MAINTAINER=\"Name <address>\" (or DEBFULLNAME and DEBEMAIL, or git's user.name and user.email)" >&2
    exit 1
fi
case "$MAINTAINER" in
    *'|'* | *\\* | *$'\n'*) echo "packaging: the maintainer \"$MAINTAINER\" contains |, \\ or a newline" >&2; exit 1 ;;
    ?*' <'?*@?*'>') ;;
    *) echo "packaging: the maintainer \"$MAINTAINER\" is not \"Name <address>\"" >&2; exit 1 ;;
esac
export MAINTAINER
