"""The application file for spark-submit: ``custseg`` with spark-submit's master and settings.

    spark-submit --master yarn --deploy-mode client \
      "$(python -c 'import custseg.engines.spark.submit as m; print(m.__file__)')" \
      run --engine spark --data hdfs:///shop/olist --out report/

(Running ``custseg/cli.py`` itself would put the package folder first on the module path, where
custseg's ``profile`` package hides Python's own ``profile`` module.)
"""

from custseg.cli import main

if __name__ == "__main__":
    main()
