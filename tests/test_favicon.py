"""The site's icon: linked from every page's head, and served where browsers ask for it unasked."""
import re


def test_favicon_is_served_and_linked(client, auth):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # a Windows icon file
    assert icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    page = client.get("/login").text
    svg = re.search(r'<link rel="icon" href="([^"]+\.svg)" type="image/svg\+xml">', page)
    assert svg and '<link rel="icon" href="/favicon.ico"' in page
    linked = client.get(svg.group(1))
    assert linked.status_code == 200 and b"<svg" in linked.data
