"""The leaf layer of tbt-alert: settings, the exception hierarchy and reference data (countries).

Every package imports from here and this package imports nothing of ours, so the layers
point one way: tbt_alert <- schema <- crawlers, classifiers <- search, alerts, reports
<- pipeline, portal <- dags.
"""
