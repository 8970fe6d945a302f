"""Builds the CONSTRUCTED page of vn_stameq (run once; kept so the page's making is visible).

No page of STAMEQ's list of national technical regulations (QCVN) was ever recorded. The page below
is shaped by us (HTML, Vietnamese column headings) after the content such a list carries: the
regulation's number, its title and the issuing ministry. The values are four real regulations of
the Ministry of Science and Technology (the "/BKHCN" in each number names it) on products Zhejiang
exports (motorcycle helmets, toys, electrical and electronic equipment, EMC). Dates of issue and
entry into force are left out: we could not check them offline, and a wrong date is worse than none.
Run: .venv/bin/python -m crawlers.sources.vn_stameq.construct
"""

from __future__ import annotations

import html
from pathlib import Path

from crawlers.recorded import table_page, write_recorded

HERE = Path(__file__).resolve().parent
MINISTRY = "Bộ Khoa học và Công nghệ"
# (number, title)
REGULATIONS = [
    ("QCVN 2:2008/BKHCN", "Quy chuẩn kỹ thuật quốc gia về mũ bảo hiểm cho người đi mô tô, xe máy"),
    ("QCVN 3:2019/BKHCN", "Quy chuẩn kỹ thuật quốc gia về an toàn đồ chơi trẻ em"),
    ("QCVN 4:2009/BKHCN", "Quy chuẩn kỹ thuật quốc gia về an toàn đối với thiết bị điện và điện tử"),
    (
        "QCVN 9:2012/BKHCN",
        "Quy chuẩn kỹ thuật quốc gia về tương thích điện từ đối với thiết bị điện và điện tử "
        "gia dụng và các mục đích tương tự",
    ),
]


def page() -> str:
    rows = "\n".join(
        f"      <tr>\n        <td>{n}</td>\n        <td>{html.escape(number)}</td>\n"
        f"        <td>{html.escape(title)}</td>\n        <td>{MINISTRY}</td>\n      </tr>"
        for n, (number, title) in enumerate(REGULATIONS, start=1)
    )
    return table_page(
        lang="vi",
        title="Danh mục quy chuẩn kỹ thuật quốc gia",
        heading="Danh mục quy chuẩn kỹ thuật quốc gia",
        columns=["STT", "Số hiệu", "Tên quy chuẩn", "Cơ quan ban hành"],
        rows=rows,
    )


def main() -> None:
    write_recorded(HERE, "qcvn_list_constructed.html", page())


if __name__ == "__main__":
    main()
