"""The leaderboard page in a real headless Chromium (Debian's chromium + chromedriver, driven
by selenium): it loads from file:// without console errors, the plot is visible, the table
sorts, a filter hides rows, and a row opens its cells' texts. A screenshot is kept."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthbench.leaderboard import rebuild

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1280,2000")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="chromium and chromedriver are not installed (Debian: apt-get install chromium "
           "chromium-driver; .ci/install does it)")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page rebuilt from the committed results, with real texts when the data is there."""
    out = tmp_path_factory.mktemp("board")
    rebuild(REPO / "leaderboard" / "results", out,
            SHARED_DATA if SHARED_DATA.is_dir() else None)
    return out / "index.html"


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _column(driver: object, index: int) -> list[str]:
    from selenium.webdriver.common.by import By

    cells = driver.find_elements(By.CSS_SELECTOR,  # type: ignore[attr-defined]
                                 f"#board tbody tr td:nth-child({index})")
    return [c.text for c in cells]


def test_page_in_headless_chromium(page: Path, browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    driver.get(page.as_uri())  # type: ignore[attr-defined]
    rows = driver.find_elements(By.CSS_SELECTOR, "#board tbody tr")  # type: ignore[attr-defined]
    total = len(rows)
    assert total > 20

    plot = driver.find_element(By.CSS_SELECTOR, "figure.plot svg")  # type: ignore[attr-defined]
    assert plot.is_displayed() and plot.size["width"] > 400 and plot.size["height"] > 200

    text = driver.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert text.index("between declared subjectivity and gap closed") < text.index("Plots")
    gap_header = driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "#board th[data-key=gap_closed]")
    gap_header.click()
    up = [float(v) for v in _column(driver, 7) if v != "–"]
    assert up == sorted(up) and up[0] < up[-1]
    gap_header.click()
    down = [float(v) for v in _column(driver, 7) if v != "–"]
    assert down == sorted(down, reverse=True)
    assert gap_header.get_attribute("aria-sort") == "descending"

    Select(driver.find_element(By.ID, "f-task")).select_by_value("humor")  # type: ignore
    tasks = _column(driver, 5)
    assert tasks and set(tasks) == {"humor"} and len(tasks) < total
    driver.find_element(By.ID, "q").send_keys("few_shot")  # type: ignore[attr-defined]
    generators = _column(driver, 2)
    assert generators and all("few_shot" in g for g in generators)

    driver.find_element(By.CSS_SELECTOR, "#board tbody tr").click()  # type: ignore
    detail = driver.find_element(By.ID, "detail")  # type: ignore[attr-defined]
    assert detail.is_displayed()
    generated = detail.find_elements(By.CSS_SELECTOR, ".texts > div:first-child li")
    assert generated and all(li.text.strip() for li in generated)
    assert "served model" in detail.text and "generation counts" in detail.text
    if SHARED_DATA.is_dir():
        assert detail.find_elements(By.CSS_SELECTOR, ".texts > div:last-child li")

    shots = {"top": "window.scrollTo(0, 0)",
             "cell": "document.getElementById('table').scrollIntoView()"}
    for name, script in shots.items():
        driver.execute_script(script)  # type: ignore[attr-defined]
        shot = tmp_path / f"leaderboard-page-{name}.png"
        assert driver.save_screenshot(str(shot))  # type: ignore[attr-defined]
        print(f"screenshot: {shot}")
    errors = [e for e in driver.get_log("browser")  # type: ignore[attr-defined]
              if e["level"] == "SEVERE"]
    assert not errors, errors
