"""Console labels in zh-CN (default) and English, chosen by ``?lang=`` or the ``sf_lang`` cookie."""

from __future__ import annotations

from ..web.i18n import Translator, console_translator

# key → (zh-CN, English); the shared ones (menu, login form, errors, common nouns) are web.i18n.COMMON_LABELS
MESSAGES: dict[str, tuple[str, str]] = {
    "login_failed": ("用户名或密码错误", "Wrong username or password"),
    "login_rate_limited": ("登录失败次数过多，请稍后再试", "Too many failed logins; wait a minute and retry"),
    "stations": ("站点列表", "Stations"),
    "region_hint": ("区域路径，如 河南省/南阳市", "Region path, e.g. 河南省/南阳市"),
    "tag": ("标签", "Tag"),
    "tags": ("标签", "Tags"),
    "role_stb": ("机顶盒", "set-top box"),
    "role_router": ("路由器", "router"),
    "state": ("在线状态", "Presence"),
    "all": ("全部", "all"),
    "agent_version": ("代理版本", "Agent version"),
    "search": ("搜索", "Search"),
    "search_hint": ("站点名称、编码、设备号、序列号、MAC", "station name, code, device id, serial, MAC"),
    "filter": ("筛选", "Filter"),
    "reset": ("重置", "Reset"),
    "code": ("编码", "Code"),
    "name": ("名称", "Name"),
    "last_seen": ("最后在线", "Last seen"),
    "never": ("从未", "never"),
    "total": ("共", "total"),
    "page": ("页", "page"),
    "no_results": ("没有符合条件的设备", "No devices match these filters"),
    "latest_values": ("最新数据", "Latest values"),
    "cpu": ("CPU", "CPU"),
    "memory": ("内存", "Memory"),
    "disk": ("磁盘", "Disk"),
    "uptime": ("运行时间", "Uptime"),
    "temp": ("温度", "Temperature"),
    "rx": ("下行", "RX"),
    "tx": ("上行", "TX"),
    "chart_rx": ("下行 rx (bit/s)", "rx, download (bit/s)"),
    "chart_tx": ("上行 tx (bit/s)", "tx, upload (bit/s)"),
    "bandwidth": ("带宽（最近 1 小时）", "Bandwidth (last hour)"),
    "chart_loading": ("正在加载…", "Loading…"),
    "chart_empty": ("暂无数据", "No data yet"),
    "chart_error": ("无法加载历史数据", "Could not load history"),
    "enrollment": ("注册状态", "Enrollment"),
    "enroll_pending": ("待注册", "pending"),
    "enroll_enrolled": ("已注册", "enrolled"),
    "enroll_revoked": ("已吊销", "revoked"),
    "boot_id": ("启动 ID", "Boot id"),
    "serial": ("序列号", "Serial"),
    "mac": ("MAC", "MAC"),
    "commands": ("命令记录", "Command history"),
    "send_command": ("发送命令", "Send command"),
    "cmd_ping": ("连通测试 (ping)", "ping"),
    "cmd_diagnostics": ("诊断 (diagnostics)", "diagnostics"),
    "cmd_reboot": ("重启 (reboot)", "reboot"),
    "send": ("发送", "Send"),
    "created_by": ("发起人", "By"),
    "result": ("结果", "Result"),
    "no_commands": ("暂无命令", "No commands yet"),
    "command_sent": ("命令已发送", "Command sent"),
    "token": ("注册令牌", "Enrollment token"),
    "revoke": ("吊销凭据", "Revoke credentials"),
    "reissue": ("重新签发令牌", "Re-issue token"),
    "revoke_confirm": ("确定吊销该设备？设备将立即断开。", "Revoke this device? It is disconnected at once."),
    "revoked_done": ("设备凭据已吊销", "Device credentials revoked"),
    "reissued_done": ("新的注册令牌（只显示一次）：", "New enrollment token (shown once):"),
    "viewer_note": ("只读账号：无法发送命令", "Read-only account: commands are not available"),
}


def translator(lang: str) -> Translator:
    """A ``t(key)`` over the web kit's common labels and the console's own."""
    return console_translator(lang, MESSAGES)
