"""The wto_eping_excel source: ePing's Excel workbooks (export and bulk), parser and recorded workbook."""
