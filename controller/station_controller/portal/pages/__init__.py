"""The phone-facing portal pages (mobile-first HTML, zh-CN default, English via ``?lang=en``)."""
