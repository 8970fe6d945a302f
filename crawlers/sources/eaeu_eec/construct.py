"""Builds the CONSTRUCTED page of eaeu_eec (run once; kept so the page's making is visible).

No page of the Eurasian Economic Commission's list of technical regulations was ever recorded. The
page below is shaped by us (HTML, column headings, order) after the list the Commission publishes;
its values are real, publicly known facts: each regulation's number, its official title, the
decision that adopted it (body, date, number) and the date it entered into force, as printed in the
decisions themselves. Only regulations whose every value we are sure of are listed; no links are
given because we do not know the documents' addresses.
Run: .venv/bin/python -m crawlers.sources.eaeu_eec.construct
"""

from __future__ import annotations

import html
from pathlib import Path

from crawlers.recorded import table_page, write_recorded

HERE = Path(__file__).resolve().parent
CU = "Решение Комиссии Таможенного союза"
EEC = "Решение Совета Евразийской экономической комиссии"
# (number, title, adopting decision, entry into force)
REGULATIONS = [
    ("ТР ТС 004/2011", "О безопасности низковольтного оборудования", f"{CU} от 16 августа 2011 г. № 768", "15.02.2013"),
    ("ТР ТС 005/2011", "О безопасности упаковки", f"{CU} от 16 августа 2011 г. № 769", "01.07.2012"),
    (
        "ТР ТС 007/2011",
        "О безопасности продукции, предназначенной для детей и подростков",
        f"{CU} от 23 сентября 2011 г. № 797",
        "01.07.2012",
    ),
    ("ТР ТС 008/2011", "О безопасности игрушек", f"{CU} от 23 сентября 2011 г. № 798", "01.07.2012"),
    (
        "ТР ТС 009/2011",
        "О безопасности парфюмерно-косметической продукции",
        f"{CU} от 23 сентября 2011 г. № 799",
        "01.07.2012",
    ),
    ("ТР ТС 010/2011", "О безопасности машин и оборудования", f"{CU} от 18 октября 2011 г. № 823", "15.02.2013"),
    (
        "ТР ТС 017/2011",
        "О безопасности продукции легкой промышленности",
        f"{CU} от 9 декабря 2011 г. № 876",
        "01.07.2012",
    ),
    (
        "ТР ТС 018/2011",
        "О безопасности колесных транспортных средств",
        f"{CU} от 9 декабря 2011 г. № 877",
        "01.01.2015",
    ),
    (
        "ТР ТС 019/2011",
        "О безопасности средств индивидуальной защиты",
        f"{CU} от 9 декабря 2011 г. № 878",
        "01.06.2012",
    ),
    (
        "ТР ТС 020/2011",
        "Электромагнитная совместимость технических средств",
        f"{CU} от 9 декабря 2011 г. № 879",
        "15.02.2013",
    ),
    ("ТР ТС 021/2011", "О безопасности пищевой продукции", f"{CU} от 9 декабря 2011 г. № 880", "01.07.2013"),
    ("ТР ТС 025/2012", "О безопасности мебельной продукции", f"{EEC} от 15 июня 2012 г. № 32", "01.07.2014"),
    (
        "ТР ЕАЭС 037/2016",
        "Об ограничении применения опасных веществ в изделиях электротехники и радиоэлектроники",
        f"{EEC} от 18 октября 2016 г. № 113",
        "01.03.2020",
    ),
]


def page() -> str:
    rows = "\n".join(
        f"      <tr>\n        <td>{n}</td>\n        <td>{html.escape(number)}</td>\n"
        f"        <td>«{html.escape(title)}»</td>\n        <td>{html.escape(decision)}</td>\n"
        f"        <td>{in_force}</td>\n      </tr>"
        for n, (number, title, decision, in_force) in enumerate(REGULATIONS, start=1)
    )
    return table_page(
        lang="ru",
        title="Технические регламенты Евразийского экономического союза",
        heading="Технические регламенты Таможенного союза и Евразийского экономического союза, вступившие в силу",
        columns=[
            "№ п/п",
            "Обозначение технического регламента",
            "Наименование технического регламента",
            "Решение о принятии",
            "Дата вступления в силу",
        ],
        rows=rows,
        table_attrs=' class="tr-list"',
    )


def main() -> None:
    write_recorded(HERE, "tr_in_force_constructed.html", page())


if __name__ == "__main__":
    main()
