"""The candlestick chart: candles that cost pixels, not bars.

`lod` is the level-of-detail pyramid (numpy only); `candles` paints it; `time_axis` labels x
(bar index) on the exchange clock; `crosshair` follows the mouse; `palette` holds the colours;
`view.ChartView` is the widget other code builds on, driven from plain numpy arrays.
"""
