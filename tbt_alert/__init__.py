"""The leaf layer of tbt-alert: settings, the exception hierarchy, reference data (countries)
and the UTC rule for timestamps (clock).

Every package imports from here and this package imports nothing of ours, so the layers
point one way: tbt_alert <- schema <- crawlers, classifiers <- search, alerts, reports
<- pipeline, portal <- dags.
"""
