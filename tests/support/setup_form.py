"""The first-run setup form's fields for a site in London (dashboard/setup_form.py), as a
browser posts them (the "Create the site" button pressed), with Octopus (no region letter) and aWATTar (DE and AT only) ticked: the
setup refuses it as it is; tests change the fields they need. And what the status page for a
site that is none says."""

import html
import re

FORM = {
    "name": "Flat",
    "latitude": "51.5",
    "longitude": "-0.12",
    "timezone": "Europe/London",
    "country": "GB",
    "providers": ["octopus", "awattar"],
    "influxdb_url": "http://127.0.0.1:8186",
    "ha_database": "home_assistant",
    "action": "create",
}


def no_site_page(response) -> tuple[str, list[tuple[str, str]]]:
    """What the page for a site that is none says, and the sites it links (address, name)."""
    page = response.content.decode()
    said = re.search(r'<p class="problem message">(.*?)</p>', page)
    links = re.findall(r'<li><a href="([^"]*)">([^<]*)</a></li>', page)
    return html.unescape(said.group(1)) if said else page, links
